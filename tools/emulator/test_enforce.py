"""The enforcing mode's patches (enforce.py), one test each, run like test_launcher.py's: with
every patch, where it must pass, and without its own, where it must fail."""
import json
import uuid

import boto3
from botocore.exceptions import ClientError
import pytest

from test_launcher import REGION, _start, _status, _template

ENFORCING = ("--enforce-iam",)


def proves(patch: str):
    return pytest.mark.parametrize("enforcing", [
        pytest.param((), id="patched"),
        pytest.param((patch,), id=f"without-{patch}",
                     marks=pytest.mark.xfail(strict=True, raises=(AssertionError, ClientError))),
    ], indirect=True)


@pytest.fixture
def enforcing(request):
    return _start(request.param, ENFORCING)


def _session(endpoint: str, credentials: dict = None) -> callable:
    keys = credentials or {"aws_access_key_id": "plinth-test", "aws_secret_access_key": "plinth-test"}
    session = boto3.Session(region_name=REGION, **keys)
    return lambda service: session.client(service, endpoint_url=endpoint)


def _assume(endpoint: str, account: str, role: str) -> callable:
    sts = _session(endpoint)("sts")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="test")["Credentials"]
    return _session(endpoint, {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                               "aws_session_token": c["SessionToken"]})


def _role_with(endpoint: str, account: str, statements: list) -> callable:
    """Clients of a fresh role of `account` whose only policy has `statements`."""
    admin = _assume(endpoint, account, "plinth-test")
    name = f"t-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"AWS": "arn:aws:iam::123456789012:user/plinth"}}]}
    iam = admin("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="p",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return _assume(endpoint, account, name)


def _denied(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"), raised.value
    return raised.value.response["Error"]["Message"]


@proves("patch_s3_action_names")
def test_s3_subresources_are_authorized_under_iams_action_names(enforcing):
    admin = _assume(enforcing, "111111111111", "plinth-test")
    bucket = f"acme-{uuid.uuid4().hex[:8]}"
    admin("s3").create_bucket(Bucket=bucket)
    admin("s3").put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    role = _role_with(enforcing, "111111111111", [
        {"Effect": "Allow", "Action": ["s3:GetEncryptionConfiguration", "s3:ListBucket"],
         "Resource": f"arn:aws:s3:::{bucket}"}])
    s3 = role("s3")
    s3.head_bucket(Bucket=bucket)  # s3:ListBucket, which moto called HeadBucket
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    message = _denied(lambda: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}))
    assert "s3:PutEncryptionConfiguration" in message


@proves("patch_authorization")
def test_statements_are_evaluated_on_the_arns_a_call_acts_on_and_their_conditions(enforcing):
    account = "111111111111"
    admin = _assume(enforcing, account, "plinth-test")
    admin("cloudformation").create_stack(StackName="acme-scoped", TemplateBody=_template({}))
    admin("cloudformation").create_stack(StackName="other-scoped", TemplateBody=_template({}))
    role = _role_with(enforcing, account, [
        {"Sid": "Stacks", "Effect": "Allow", "Action": "cloudformation:DescribeStacks",
         "Resource": f"arn:aws:cloudformation:*:{account}:stack/acme-*/*"},
        {"Sid": "Functions", "Effect": "Allow", "Action": "lambda:CreateFunction",
         "Resource": f"arn:aws:lambda:*:{account}:function:acme-*"},
        {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{account}:role/acme-*",
         "Condition": {"StringEquals": {"iam:PassedToService": "codepipeline.amazonaws.com"}}}])
    cfn = role("cloudformation")
    assert cfn.describe_stacks(StackName="acme-scoped")["Stacks"][0]["StackName"] == "acme-scoped"
    message = _denied(lambda: cfn.describe_stacks(StackName="other-scoped"))
    assert "cloudformation:DescribeStacks on resource: arn:aws:cloudformation:us-east-1:111111111111:stack/other-scoped/" in message
    # a role passed to Lambda, which the condition does not name: no allow, so denied
    admin("iam").create_role(RoleName="acme-fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    message = _denied(lambda: role("lambda").create_function(
        FunctionName="acme-fn", Runtime="python3.12", Handler="index.handler",
        Role=f"arn:aws:iam::{account}:role/acme-fn", Code={"ZipFile": b"PK"}))
    assert "iam:PassRole" in message


@proves("patch_cloudformation_as_caller")
def test_cloudformation_creates_resources_with_the_callers_permissions(enforcing):
    account = "222222222222"
    role = _role_with(enforcing, account, [
        {"Effect": "Allow", "Action": ["cloudformation:CreateStack", "cloudformation:DescribeStacks",
                                       "cloudformation:DescribeStackEvents"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:CreateBucket", "Resource": "arn:aws:s3:::acme-allowed-*"}])
    cfn = role("cloudformation")
    bucket = f"acme-denied-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(StackName="acme-caller", TemplateBody=_template({
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket}}}))
    assert _status(cfn, "acme-caller") == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="acme-caller")["StackEvents"]
    failed = [e for e in events if e.get("ResourceStatus") == "CREATE_FAILED"]
    assert failed and failed[0]["LogicalResourceId"] == "Bucket"
    assert f"s3:CreateBucket on resource: arn:aws:s3:::{bucket}" in failed[0]["ResourceStatusReason"]
    allowed = f"acme-allowed-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(StackName="acme-caller-2", TemplateBody=_template({
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": allowed}}}))
    assert _status(cfn, "acme-caller-2") == "CREATE_COMPLETE"


def test_an_operator_role_gets_the_printed_policies_and_nothing_else(tmp_path):
    printed = {"identities": [{"name": "build", "account": "555555555555", "plan": {
        "Version": "2012-10-17", "Statement": [{"Sid": "ReadAnyBucket", "Effect": "Allow",
                                                "Action": ["s3:ListAllMyBuckets"], "Resource": ["*"]}]},
        "apply": {"Version": "2012-10-17", "Statement": []}}]}
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(printed))
    endpoint = _start((), ENFORCING + ("--operator-policies", str(path)))
    operator = _assume(endpoint, "555555555555", "plinth-operator")
    operator("s3").list_buckets()
    assert "cloudformation:DescribeStacks" in _denied(lambda: operator("cloudformation").describe_stacks())
    other = _assume(endpoint, "666666666666", "plinth-operator")
    _denied(lambda: other("s3").list_buckets())
    import urllib.request
    decisions = json.load(urllib.request.urlopen(endpoint + "/plinth-emulator/authorizations"))
    allowed = [d for d in decisions if d["action"] == "s3:ListAllMyBuckets" and d["allowed"]]
    assert allowed and allowed[0]["statements"] == ["plinth-plan/ReadAnyBucket"]
