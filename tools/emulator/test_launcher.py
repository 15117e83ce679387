"""One test per fidelity patch of launcher.py.

Every test runs twice: against the launcher with every patch on, where it must pass, and against
the launcher with every patch on but its own, where it must fail on one of its assertions or on
the AWS error that the missing behaviour causes (a strict expected failure that nothing else, such
as a server that did not start, satisfies). So each test shows that its own
patch, and not another, is what makes moto behave like AWS; a run without the patch that starts
passing means moto fixed the gap and the patch can go.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

import boto3
from botocore.exceptions import ClientError
import pytest

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")
REGION = "us-east-1"


_SERVERS = {}


def _start(without: tuple, options: tuple = ()) -> str:
    """A launcher with every patch but `without` and the given options, started once per
    session; returns its URL."""
    if (without, options) in _SERVERS:
        return _SERVERS[(without, options)][1]
    args = [sys.executable, LAUNCHER, "-H", "127.0.0.1", "-p", "0", *options]
    for patch in without:
        args += ["--without", patch]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline()
    if not line.startswith("plinth-emulator listening on "):
        server.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    url = line.split()[-1]
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the emulator did not answer")
            time.sleep(0.2)
    _SERVERS[(without, options)] = (server, url)
    return url


@pytest.fixture(scope="session", autouse=True)
def _stop_servers():
    yield
    for server, _ in _SERVERS.values():
        server.terminate()
        server.wait(10)


def proves(patch: str):
    """Runs a test with every patch on, and with every patch on but `patch`, where it must fail."""
    return pytest.mark.parametrize("endpoint", [
        pytest.param((), id="patched"),
        pytest.param((patch,), id=f"without-{patch}",
                     marks=pytest.mark.xfail(strict=True, raises=(AssertionError, ClientError, pytest.fail.Exception))),
    ], indirect=True)


@pytest.fixture
def endpoint(request):
    return _start(request.param)


@pytest.fixture
def aws(endpoint, monkeypatch):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    for key in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    return lambda service: session.client(service, endpoint_url=endpoint)


def _template(resources: dict, conditions: dict = None, parameters: dict = None) -> str:
    body = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if conditions:
        body["Conditions"] = conditions
    if parameters:
        body["Parameters"] = parameters
    return json.dumps(body)


def _key(principal_account: str) -> dict:
    return {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True, "KeyPolicy": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{principal_account}:root"},
                       "Action": "kms:DescribeKey", "Resource": "*"}]}}}


def _status(cfn, name: str) -> str:
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


@proves("patch_bucket_policy")
def test_bucket_policy_resource_is_applied(aws):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::fidelity-policy/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    aws("cloudformation").create_stack(StackName="s", TemplateBody=_template({
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "fidelity-policy"}},
        "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": policy}},
    }))
    assert json.loads(aws("s3").get_bucket_policy(Bucket="fidelity-policy")["Policy"]) == policy


@proves("patch_bucket_versioning")
def test_bucket_versioning_configuration_is_applied(aws):
    aws("cloudformation").create_stack(StackName="s", TemplateBody=_template({
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": "fidelity-versioning", "VersioningConfiguration": {"Status": "Enabled"}}},
    }))
    assert aws("s3").get_bucket_versioning(Bucket="fidelity-versioning").get("Status") == "Enabled"



@proves("patch_bucket_settings")
def test_bucket_settings_are_applied_and_updated(aws):
    cfn, s3 = aws("cloudformation"), aws("s3")

    def bucket(extra):
        properties = {"BucketName": "fidelity-settings", "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}
        properties.update(extra)
        return _template({"Bucket": {"Type": "AWS::S3::Bucket", "Properties": properties}})

    cfn.create_stack(StackName="s", TemplateBody=bucket({
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "LifecycleConfiguration": {"Rules": [{"Id": "Old", "Status": "Enabled",
                                              "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                                              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]},
    }))
    block = s3.get_public_access_block(Bucket="fidelity-settings")["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    rules = s3.get_bucket_ownership_controls(Bucket="fidelity-settings")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket="fidelity-settings")["Rules"]
    assert rule["ID"] == "Old" and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
    encryption = s3.get_bucket_encryption(Bucket="fidelity-settings")["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["BucketKeyEnabled"] is True
    cfn.update_stack(StackName="s", TemplateBody=bucket({}))
    with pytest.raises(ClientError):
        s3.get_public_access_block(Bucket="fidelity-settings")
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket="fidelity-settings")


@proves("patch_kms_key")
def test_stack_made_key_can_be_described_and_its_policy_read(aws):
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="s", TemplateBody=_template({"Key": {**_key("222222222222")}}))
    key_id = cfn.describe_stack_resource(StackName="s", LogicalResourceId="Key")["StackResourceDetail"]["PhysicalResourceId"]
    kms = aws("kms")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    policy = json.loads(kms.get_key_policy(KeyId=key_id)["Policy"])  # no PolicyName, as AWS allows
    assert policy["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::222222222222:root"


@proves("patch_kms_key")
def test_key_policy_update_keeps_the_key_in_the_stack(aws):
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="s", TemplateBody=_template({"Key": _key("222222222222")}))
    cfn.update_stack(StackName="s", TemplateBody=_template({"Key": _key("333333333333")}))
    assert _status(cfn, "s") == "UPDATE_COMPLETE"
    key_id = cfn.describe_stack_resource(StackName="s", LogicalResourceId="Key")["StackResourceDetail"]["PhysicalResourceId"]
    policy = json.loads(aws("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::333333333333:root"


@proves("patch_kms_key_deletion")
def test_deleting_a_stack_schedules_its_key_for_deletion(aws):
    cfn, kms = aws("cloudformation"), aws("kms")
    key = _key("123456789012")
    key["Properties"]["PendingWindowInDays"] = 7
    cfn.create_stack(StackName="s", TemplateBody=_template({"Key": key}))
    key_id = cfn.describe_stack_resources(StackName="s")["StackResources"][0]["PhysicalResourceId"]
    cfn.delete_stack(StackName="s")
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion"
    assert not described["Enabled"]
    days = (described["DeletionDate"] - described["CreationDate"]).total_seconds() / 86400
    assert 6.9 < days < 7.1, days


@proves("patch_stack_last_updated_time")
def test_an_updated_stack_says_when_it_was_last_updated(aws):
    cfn = aws("cloudformation")
    topic = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "fidelity"}}}
    cfn.create_stack(StackName="s", TemplateBody=_template(topic))
    created = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert "LastUpdatedTime" not in created
    topic["Topic"]["Properties"]["DisplayName"] = "changed"
    cfn.update_stack(StackName="s", TemplateBody=_template(topic))
    updated = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert "LastUpdatedTime" in updated, updated
    assert updated["LastUpdatedTime"] >= updated["CreationTime"]


@proves("patch_no_updates")
def test_an_update_that_changes_nothing_is_refused(aws):
    cfn = aws("cloudformation")
    topic = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "fidelity"}}}
    tags = [{"Key": "plinth:stack", "Value": "primary"}]
    cfn.create_stack(StackName="s", TemplateBody=_template(topic), Tags=tags)
    with pytest.raises(ClientError) as refused:
        cfn.update_stack(StackName="s", TemplateBody=_template(topic), Tags=tags)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == "No updates are to be performed."
    # a change of tags alone is an update
    cfn.update_stack(StackName="s", TemplateBody=_template(topic), Tags=tags + [{"Key": "k", "Value": "v"}])
    assert cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


@proves("patch_managed_policy")
def test_managed_policy_is_deleted_with_its_stack(aws):
    cfn, iam = aws("cloudformation"), aws("iam")
    cfn.create_stack(StackName="s", TemplateBody=_template({
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "fidelity-role", "AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}}},
        "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": "fidelity-policy", "Roles": [{"Ref": "Role"}], "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}},
    }), Capabilities=["CAPABILITY_NAMED_IAM"])
    cfn.delete_stack(StackName="s")
    names = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert "fidelity-policy" not in names and "fidelity-role" not in roles


@proves("patch_conditions_on_update")
def test_resource_whose_condition_turns_false_is_removed(aws):
    cfn = aws("cloudformation")
    template = _template(
        {"Bucket": {"Type": "AWS::S3::Bucket", "Condition": "Wanted", "Properties": {"BucketName": "fidelity-condition"}}},
        conditions={"Wanted": {"Fn::Equals": [{"Ref": "Want"}, "yes"]}},
        parameters={"Want": {"Type": "String"}})
    cfn.create_stack(StackName="s", TemplateBody=template, Parameters=[{"ParameterKey": "Want", "ParameterValue": "yes"}])
    assert "fidelity-condition" in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]
    cfn.update_stack(StackName="s", TemplateBody=template, Parameters=[{"ParameterKey": "Want", "ParameterValue": "no"}])
    assert "fidelity-condition" not in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]


@proves("patch_create_failure")
def test_failed_create_rolls_back_to_rollback_complete(aws):
    cfn, iam = aws("cloudformation"), aws("iam")
    iam.create_role(RoleName="taken", AssumeRolePolicyDocument="{}")
    cfn.create_stack(StackName="s", TemplateBody=_template({
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "fidelity-rollback"}},
        "Role": {"Type": "AWS::IAM::Role", "DependsOn": "Bucket", "Properties": {
            "RoleName": "taken", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}},
    }), Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "fidelity-rollback" not in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]
    events = cfn.describe_stack_events(StackName="s")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed and failed[0]["LogicalResourceId"] == "Role"
    assert "taken" in failed[0]["ResourceStatusReason"]


@proves("patch_update_failure")
def test_a_resource_refused_during_an_update_rolls_the_stack_back(aws):
    cfn, s3 = aws("cloudformation"), aws("s3")
    granted = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::fidelity-update-rollback/*"}]}

    def template(policy, tag, parameters=None):
        return _template({
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": "fidelity-update-rollback", "Tags": [{"Key": "v", "Value": tag}]}},
            "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
                "Bucket": {"Ref": "Bucket"}, "PolicyDocument": policy}},
        }, parameters=parameters)

    first = template(granted, "1")
    cfn.create_stack(StackName="s", TemplateBody=first)
    refused = json.loads(json.dumps(granted).replace(":root", ":role/fidelity-nobody"))
    # accepted, as in AWS, with a parameter the previous template does not declare
    cfn.update_stack(StackName="s", TemplateBody=template(refused, {"Ref": "Added"}, {"Added": {"Type": "String"}}),
                     Parameters=[{"ParameterKey": "Added", "ParameterValue": "2"}])
    assert _status(cfn, "s") == "UPDATE_ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="s")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed and failed[0]["LogicalResourceId"] == "Policy"
    assert "Invalid principal in policy" in failed[0]["ResourceStatusReason"]
    # the previous template, and the resources as it made them
    assert dict(cfn.get_template(StackName="s")["TemplateBody"]) == json.loads(first)
    assert json.loads(s3.get_bucket_policy(Bucket="fidelity-update-rollback")["Policy"]) == granted
    # and the stack can be updated again
    cfn.update_stack(StackName="s", TemplateBody=template(granted, "3"))
    assert _status(cfn, "s") == "UPDATE_COMPLETE"


@proves("patch_delete_failure")
def test_deleting_a_stack_with_a_non_empty_bucket_fails(aws):
    cfn, s3 = aws("cloudformation"), aws("s3")
    cfn.create_stack(StackName="s", TemplateBody=_template({
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "fidelity-not-empty"}}}))
    s3.put_object(Bucket="fidelity-not-empty", Key="a", Body=b"x")
    cfn.delete_stack(StackName="s")
    assert _status(cfn, "s") == "DELETE_FAILED"
    s3.delete_object(Bucket="fidelity-not-empty", Key="a")
    cfn.delete_stack(StackName="s")
    assert "fidelity-not-empty" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def _encrypted_bucket(aws, name):
    """A bucket whose policy is the one plinth renders: TLS 1.2 or later only, uploads encrypted
    with the bucket's own key only."""
    s3, kms = aws("s3"), aws("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=name)
    objects = f"arn:aws:s3:::{name}/*"
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{name}", objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{name}", objects], "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
        {"Sid": "DenyUnencryptedUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": objects, "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "DenyUploadsWithAnotherKey", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": objects, "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key}}},
    ]}))
    return s3, key


@proves("patch_object_policy_conditions")
def test_tls_only_bucket_policy_allows_requests_that_stand_for_tls(aws):
    s3, key = _encrypted_bucket(aws, "fidelity-tls")
    s3.put_object(Bucket="fidelity-tls", Key="a", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    assert s3.get_object(Bucket="fidelity-tls", Key="a")["Body"].read() == b"x"
    s3.delete_object(Bucket="fidelity-tls", Key="a")
    s3.put_object(Bucket="fidelity-tls", Key="b", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    deleted = s3.delete_objects(Bucket="fidelity-tls", Delete={"Objects": [{"Key": "b"}]})
    assert not deleted.get("Errors") and [d["Key"] for d in deleted["Deleted"]] == ["b"]


@proves("patch_object_policy_conditions")
def test_uploads_must_name_the_buckets_own_key(aws):
    s3, key = _encrypted_bucket(aws, "fidelity-sse")
    other = aws("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_object(Bucket="fidelity-sse", Key="good", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    refused = [
        {},
        {"ServerSideEncryption": "AES256"},
        {"ServerSideEncryption": "aws:kms"},
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": other},
    ]
    for extra in refused:
        with pytest.raises(ClientError) as error:
            s3.put_object(Bucket="fidelity-sse", Key="bad", Body=b"x", **extra)
        assert error.value.response["Error"]["Code"] == "AccessDenied", extra
    with pytest.raises(ClientError):
        s3.create_multipart_upload(Bucket="fidelity-sse", Key="bad")
    # a multipart upload is checked when it is created, not part by part
    upload = s3.create_multipart_upload(Bucket="fidelity-sse", Key="big", ServerSideEncryption="aws:kms",
                                        SSEKMSKeyId=key)["UploadId"]
    part = s3.upload_part(Bucket="fidelity-sse", Key="big", UploadId=upload, PartNumber=1, Body=b"y" * 10)
    s3.complete_multipart_upload(Bucket="fidelity-sse", Key="big", UploadId=upload, MultipartUpload={
        "Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    assert s3.get_object(Bucket="fidelity-sse", Key="big")["Body"].read() == b"y" * 10
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="fidelity-sse")["Contents"]] == ["big", "good"]


@proves("patch_codepipeline_resource")
def test_pipeline_resource_creates_updates_and_deletes_a_pipeline(aws):
    cfn, codepipeline = aws("cloudformation"), aws("codepipeline")
    role = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "fidelity-pipeline", "AssumeRolePolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}}}

    def pipeline(regions):
        return {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
            "Name": "fidelity", "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "ArtifactStores": [{"Region": r, "ArtifactStore": {"Type": "S3", "Location": f"bucket-{r}"}} for r in regions],
            "Stages": [
                {"Name": "Source", "Actions": [{"Name": "App", "ActionTypeId": {
                    "Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
                    "Configuration": {"S3Bucket": "b", "S3ObjectKey": "k", "PollForSourceChanges": "true"},
                    "OutputArtifacts": [{"Name": "App"}]}]},
                {"Name": "Deploy", "Actions": [{"Name": f"Deploy-{r}", "Region": r, "ActionTypeId": {
                    "Category": "Deploy", "Owner": "AWS", "Provider": "CloudFormation", "Version": "1"},
                    "Configuration": {"ActionMode": "CHANGE_SET_REPLACE", "StackName": "app"},
                    "InputArtifacts": [{"Name": "App"}]} for r in regions]},
            ]}}

    cfn.create_stack(StackName="s", TemplateBody=_template({"Role": role, "Pipeline": pipeline(["us-east-1"])}),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    got = codepipeline.get_pipeline(name="fidelity")["pipeline"]
    assert got["stages"][0]["actions"][0]["configuration"]["S3ObjectKey"] == "k"
    assert list(got["artifactStores"]) == ["us-east-1"]
    cfn.update_stack(StackName="s", TemplateBody=_template({"Role": role, "Pipeline": pipeline(["us-east-1", "eu-west-1"])}),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    got = codepipeline.get_pipeline(name="fidelity")["pipeline"]
    assert sorted(got["artifactStores"]) == ["eu-west-1", "us-east-1"]
    assert [a["region"] for a in got["stages"][1]["actions"]] == ["us-east-1", "eu-west-1"]
    cfn.delete_stack(StackName="s")
    assert codepipeline.list_pipelines()["pipelines"] == []


@proves("patch_bucket_versioning_response")
def test_bucket_versioning_answers_with_aws_root_element(aws, endpoint):
    s3 = aws("s3")
    s3.create_bucket(Bucket="fidelity-versioning-xml")
    s3.put_bucket_versioning(Bucket="fidelity-versioning-xml", VersioningConfiguration={"Status": "Enabled"})
    body = urllib.request.urlopen(endpoint + "/fidelity-versioning-xml?versioning").read().decode()
    assert "<VersioningConfiguration" in body and "<Status>Enabled</Status>" in body, body


def _role(actions, managed=()):
    return {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": "fidelity-inline", "AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": list(managed),
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "arn:aws:s3:::b/*"}]}}]}}}


@proves("patch_role_resource")
def test_role_inline_policies_are_json(aws):
    cfn, iam = aws("cloudformation"), aws("iam")
    cfn.create_stack(StackName="s", TemplateBody=_template(_role(["s3:GetObject"])), Capabilities=["CAPABILITY_NAMED_IAM"])
    document = iam.get_role_policy(RoleName="fidelity-inline", PolicyName="p")["PolicyDocument"]
    assert isinstance(document, dict), f"GetRolePolicy answered {document!r}"
    assert document["Statement"][0]["Action"] == ["s3:GetObject"]


@proves("patch_role_resource")
def test_role_updates_change_inline_and_managed_policies(aws):
    cfn, iam = aws("cloudformation"), aws("iam")
    cfn.create_stack(StackName="s", TemplateBody=_template(_role(["s3:GetObject"])), Capabilities=["CAPABILITY_NAMED_IAM"])
    readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    cfn.update_stack(StackName="s", TemplateBody=_template(_role(["s3:GetObject", "s3:PutObject"], [readonly])),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    document = iam.get_role_policy(RoleName="fidelity-inline", PolicyName="p")["PolicyDocument"]
    # the update is what is checked here: read it as JSON whatever form the create left
    if isinstance(document, str):
        document = json.loads(document.replace("'", '"'))
    assert document["Statement"][0]["Action"] == ["s3:GetObject", "s3:PutObject"]
    attached = iam.list_attached_role_policies(RoleName="fidelity-inline")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [readonly]
    # CloudFormation detaches managed policies before it deletes the role
    cfn.delete_stack(StackName="s")
    statuses = [s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "s"]
    assert statuses == ["DELETE_COMPLETE"], statuses
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == "fidelity-inline"]


@proves("patch_role_resource")
def test_an_aws_managed_policy_can_be_attached_directly(aws):
    iam = aws("iam")
    iam.create_role(RoleName="fidelity-attach", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName="fidelity-attach", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    attached = iam.list_attached_role_policies(RoleName="fidelity-attach")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/IAMFullAccess"]
    with pytest.raises(ClientError):
        iam.attach_role_policy(RoleName="fidelity-attach", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")


@proves("patch_log_group_arn")
def test_a_log_groups_arn_attribute_ends_with_a_wildcard(aws):
    cfn = aws("cloudformation")
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/fidelity/logs"}}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}}}}
    cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
    [output] = cfn.describe_stacks(StackName="s")["Stacks"][0]["Outputs"]
    assert output["OutputValue"] == "arn:aws:logs:us-east-1:123456789012:log-group:/fidelity/logs:*"


@proves("patch_role_resource")
def test_a_role_boundary_must_exist_and_follows_updates(aws):
    cfn, iam = aws("cloudformation"), aws("iam")

    def bounded(boundary):
        template = _role(["s3:GetObject"])
        if boundary:
            template["Role"]["Properties"]["PermissionsBoundary"] = boundary
        return _template(template)

    cfn.create_stack(StackName="missing", TemplateBody=bounded("arn:aws:iam::123456789012:policy/none"),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    assert _status(cfn, "missing") == "ROLLBACK_COMPLETE"
    cfn.delete_stack(StackName="missing")
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))["Policy"]["Arn"]
    cfn.create_stack(StackName="s", TemplateBody=bounded(None), Capabilities=["CAPABILITY_NAMED_IAM"])
    assert "PermissionsBoundary" not in iam.get_role(RoleName="fidelity-inline")["Role"]
    cfn.update_stack(StackName="s", TemplateBody=bounded(boundary), Capabilities=["CAPABILITY_NAMED_IAM"])
    role = iam.get_role(RoleName="fidelity-inline")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    cfn.update_stack(StackName="s", TemplateBody=bounded(None), Capabilities=["CAPABILITY_NAMED_IAM"])
    assert "PermissionsBoundary" not in iam.get_role(RoleName="fidelity-inline")["Role"]


@proves("patch_role_resource")
def test_a_role_naming_a_managed_policy_that_does_not_exist_fails_its_stack(aws):
    cfn = aws("cloudformation")
    missing = "arn:aws:iam::aws:policy/NoSuchPolicyAnywhere"
    cfn.create_stack(StackName="s", TemplateBody=_template(_role(["s3:GetObject"], [missing])),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert missing in stack.get("StackStatusReason", "")


@proves("patch_pipeline_metadata_timestamps")
def test_pipeline_metadata_timestamps_are_epoch_seconds(aws, endpoint):
    iam, codepipeline = aws("iam"), aws("codepipeline")
    role = iam.create_role(RoleName="fidelity-metadata", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    source = {"name": "Source", "actions": [{"name": "S", "actionTypeId": {
        "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}, "configuration": {}}]}
    codepipeline.create_pipeline(pipeline={"name": "p", "roleArn": role, "artifactStore": {"type": "S3", "location": "bucket"},
                                           "stages": [source, {**source, "name": "Two"}]})
    request = urllib.request.Request(endpoint + "/", method="POST", data=b'{"name": "p"}', headers={
        "X-Amz-Target": "CodePipeline_20150709.GetPipeline", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/codepipeline/aws4_request, SignedHeaders=host, Signature=x"})
    metadata = json.loads(urllib.request.urlopen(request).read())["metadata"]
    assert isinstance(metadata["created"], (int, float)) and isinstance(metadata["updated"], (int, float)), metadata


def _function_stack(aws, code: str, timeout: int, version: str = None) -> str:
    iam = aws("iam")
    try:
        role = iam.get_role(RoleName="fidelity-function")["Role"]["Arn"]
    except ClientError:
        role = iam.create_role(RoleName="fidelity-function", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    resources = {"Function": {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": "fidelity", "Runtime": "python3.12", "Handler": "index.handler", "Timeout": timeout,
        "Role": role, "Code": {"ZipFile": code}}}}
    if version:
        resources["Version"] = {"Type": "AWS::Lambda::Version", "Properties": {
            "FunctionName": {"Ref": "Function"}, "Description": version}}
    return _template(resources)


def _stack_update(cfn, body: str) -> None:
    cfn.update_stack(StackName="fidelity-function", TemplateBody=body)
    assert _status(cfn, "fidelity-function") == "UPDATE_COMPLETE"


@proves("patch_function_inline_code")
def test_a_functions_inline_code_is_sent_again_only_when_it_changes(aws):
    cfn, lam = aws("cloudformation"), aws("lambda")
    cfn.create_stack(StackName="fidelity-function", TemplateBody=_function_stack(aws, "def handler(e, c): pass\n", 3))
    created = lam.get_function_configuration(FunctionName="fidelity")["CodeSha256"]
    _stack_update(cfn, _function_stack(aws, "def handler(e, c): pass\n", 5))
    assert lam.get_function_configuration(FunctionName="fidelity")["Timeout"] == 5
    assert lam.get_function_configuration(FunctionName="fidelity")["CodeSha256"] == created
    _stack_update(cfn, _function_stack(aws, "def handler(event, context): return 1\n", 5))
    assert lam.get_function_configuration(FunctionName="fidelity")["CodeSha256"] != created


@proves("patch_lambda_version_resource")
def test_a_lambda_version_is_the_published_code_and_is_replaced_when_it_changes(aws):
    cfn, lam = aws("cloudformation"), aws("lambda")

    def version_arn():
        resources = cfn.list_stack_resources(StackName="fidelity-function")["StackResourceSummaries"]
        return next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "Version")

    cfn.create_stack(StackName="fidelity-function",
                     TemplateBody=_function_stack(aws, "def handler(e, c): pass\n", 3, "first"))
    first = version_arn()
    assert first.endswith(":function:fidelity:1"), first
    published = lam.get_function_configuration(FunctionName=first)
    assert published["Description"] == "first"
    assert published["CodeSha256"] == lam.get_function_configuration(FunctionName="fidelity")["CodeSha256"]
    _stack_update(cfn, _function_stack(aws, "def handler(event, context): return 1\n", 3, "second"))
    second = version_arn()
    assert second.endswith(":function:fidelity:2"), second
    assert (lam.get_function_configuration(FunctionName=second)["CodeSha256"]
            == lam.get_function_configuration(FunctionName="fidelity")["CodeSha256"])
    with pytest.raises(ClientError) as gone:
        lam.get_function_configuration(FunctionName=first)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


@proves("patch_function_update_in_progress")
def test_a_function_refuses_another_update_while_one_is_in_progress(aws):
    cfn, lam = aws("cloudformation"), aws("lambda")
    cfn.create_stack(StackName="fidelity-function", TemplateBody=_function_stack(aws, "def handler(e, c): pass\n", 3))
    lam.update_function_configuration(FunctionName="fidelity", Timeout=10)
    assert lam.get_function_configuration(FunctionName="fidelity")["LastUpdateStatus"] == "InProgress"
    with pytest.raises(ClientError) as refused:
        lam.update_function_configuration(FunctionName="fidelity", Timeout=20)
    assert refused.value.response["Error"]["Code"] == "ResourceConflictException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert "An update is in progress" in refused.value.response["Error"]["Message"]
    lam.get_waiter("function_updated").wait(FunctionName="fidelity", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert lam.get_function_configuration(FunctionName="fidelity")["LastUpdateStatus"] == "Successful"
    lam.update_function_configuration(FunctionName="fidelity", Timeout=20)
    assert lam.get_function_configuration(FunctionName="fidelity")["Timeout"] == 20


def _client(url: str, service: str, attempts: int = 3):
    from botocore.config import Config

    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    return session.client(service, endpoint_url=url,
                          config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}))


def test_asynchronous_mode_keeps_stacks_in_progress_and_refuses_what_aws_refuses():
    url = _start((), ("--stack-seconds", "1.5", "--key-stack-seconds", "3"))
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"))
    cfn = _client(url, "cloudformation")
    topic = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "async"}}}
    body = json.dumps({"Resources": topic, "Outputs": {"Arn": {"Value": {"Ref": "Topic"}}}})
    started = time.monotonic()
    cfn.create_stack(StackName="s", TemplateBody=body)
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_IN_PROGRESS"
    assert not stack.get("Outputs")
    with pytest.raises(ClientError) as refused:
        cfn.update_stack(StackName="s", TemplateBody=body.replace("async", "other"))
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "is in CREATE_IN_PROGRESS state and can not be updated." in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as refused:
        cfn.delete_stack(StackName="s")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as refused:
        cfn.create_stack(StackName="s", TemplateBody=body)
    assert refused.value.response["Error"]["Code"] == "AlreadyExistsException"
    while cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS":
        time.sleep(0.1)
    assert 1.4 < time.monotonic() - started < 3
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputKey"] == "Arn"

    cfn.delete_stack(StackName="s")
    assert cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "DELETE_IN_PROGRESS"
    assert [s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]] == ["DELETE_IN_PROGRESS"]
    with pytest.raises(ClientError) as refused:
        cfn.create_stack(StackName="s", TemplateBody=body)
    assert refused.value.response["Error"]["Code"] == "AlreadyExistsException"
    cfn.delete_stack(StackName="s")  # deleting what is being deleted succeeds
    time.sleep(1.6)
    with pytest.raises(ClientError):
        cfn.describe_stacks(StackName="s")
    assert cfn.describe_stacks()["Stacks"] == []

    # a stack that holds a KMS key takes longer
    cfn.create_stack(StackName="k", TemplateBody=_template({"Key": _key("123456789012")}))
    time.sleep(1.6)
    assert cfn.describe_stacks(StackName="k")["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    time.sleep(1.6)
    assert cfn.describe_stacks(StackName="k")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def _outcomes(url: str, calls: int) -> list:
    clients = [_client(url, "cloudformation", 1), _client(url, "kms", 1), _client(url, "s3", 1)]
    calls_of = [lambda c: c.describe_stacks(), lambda c: c.list_keys(), lambda c: c.list_buckets()]
    out = []
    for i in range(calls):
        client, call = clients[i % 3], calls_of[i % 3]
        try:
            call(client)
            out.append("ok")
        except ClientError as error:
            out.append(f"{error.response['ResponseMetadata']['HTTPStatusCode']} {error.response['Error']['Code']}")
    return out


def test_fault_mode_answers_a_seeded_share_with_each_services_own_errors():
    options = ("--throttle-share", "0.3", "--error-share", "0.15", "--seed", "7")
    first = _outcomes(_start((), options), 240)
    throttled = [o for o in first if o.endswith(("Throttling", "ThrottlingException", "SlowDown"))]
    errors = [o for o in first if o.split()[0] in ("500", "503") and not o.endswith("SlowDown")]
    assert {"400 Throttling", "400 ThrottlingException", "503 SlowDown"} <= set(throttled), set(first)
    assert 0.2 < len(throttled) / len(first) < 0.4, len(throttled)
    assert 0.07 < len(errors) / len(first) < 0.25, len(errors)
    assert first.count("ok") > len(first) / 3
    # the same seed gives the same answers
    again = _outcomes(_start((), options + ("--host", "127.0.0.1")), 240)
    assert again == first


def test_asynchronous_mode_makes_one_stack_of_simultaneous_creates():
    from concurrent.futures import ThreadPoolExecutor

    url = _start((), ("--stack-seconds", "1.5", "--key-stack-seconds", "3"))
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"))
    body = _template({"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "fidelity-atomic"}}})

    def create(_):
        try:
            _client(url, "cloudformation", 1).create_stack(StackName="same", TemplateBody=body)
            return "created"
        except ClientError as error:
            return error.response["Error"]["Code"]

    with ThreadPoolExecutor(6) as pool:
        answers = sorted(pool.map(create, range(6)))
    assert answers == ["AlreadyExistsException"] * 5 + ["created"], answers
    cfn = _client(url, "cloudformation")
    time.sleep(1.6)
    assert [s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]] == ["CREATE_COMPLETE"]


def _policy(principal, statements=1):
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i}", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::fidelity/{'x' * 40}{i}"} for i in range(statements)]}


def _refused(call) -> dict:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]


@proves("patch_policy_sizes")
def test_a_bucket_policy_over_20_kb_is_refused(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="fidelity")
    policy = _policy("arn:aws:iam::123456789012:root", 150)
    assert len(json.dumps(policy, separators=(",", ":"))) > 20 * 1024
    error = _refused(lambda: s3.put_bucket_policy(Bucket="fidelity", Policy=json.dumps(policy)))
    assert error["Code"] == "MalformedPolicy"
    assert error["Message"] == "Policy exceeds the maximum allowed document size."
    s3.put_bucket_policy(Bucket="fidelity", Policy=json.dumps(_policy("arn:aws:iam::123456789012:root", 100)))


@proves("patch_policy_sizes")
def test_a_key_policy_over_32_kb_is_refused(aws):
    kms = aws("kms")
    policy = _policy("arn:aws:iam::123456789012:root", 240)
    assert len(json.dumps(policy, separators=(",", ":"))) > 32 * 1024
    error = _refused(lambda: kms.create_key(Policy=json.dumps(policy)))
    assert error["Code"] == "MalformedPolicyDocumentException"


@proves("patch_policy_sizes")
def test_a_trust_policy_over_2048_characters_is_refused(aws):
    iam = aws("iam")
    trust = _policy("arn:aws:iam::123456789012:root", 20)
    error = _refused(lambda: iam.create_role(RoleName="big", AssumeRolePolicyDocument=json.dumps(trust)))
    assert error["Code"] == "LimitExceeded"
    assert "ACLSizePerRole: 2048" in error["Message"]


@proves("patch_policy_principals")
def test_a_bucket_policy_naming_a_role_that_does_not_exist_is_refused(aws):
    s3, iam = aws("s3"), aws("iam")
    s3.create_bucket(Bucket="fidelity")
    role = "arn:aws:iam::123456789012:role/fidelity-deploy"
    error = _refused(lambda: s3.put_bucket_policy(Bucket="fidelity", Policy=json.dumps(_policy(role))))
    assert error["Code"] == "MalformedPolicy"
    assert error["Message"] == "Invalid principal in policy"
    iam.create_role(RoleName="fidelity-deploy", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))
    s3.put_bucket_policy(Bucket="fidelity", Policy=json.dumps(_policy(role)))


@proves("patch_policy_principals")
def test_a_key_policy_naming_a_role_that_does_not_exist_is_refused(aws):
    kms = aws("kms")
    role = "arn:aws:iam::123456789012:role/fidelity-missing"
    error = _refused(lambda: kms.create_key(Policy=json.dumps(_policy(role))))
    assert error["Code"] == "MalformedPolicyDocumentException"
    kms.create_key(Policy=json.dumps(_policy("arn:aws:iam::123456789012:root")))


@proves("patch_policy_sizes")
def test_inline_policies_over_10240_characters_together_are_refused(aws):
    iam = aws("iam")
    iam.create_role(RoleName="inline", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))
    half = json.dumps(_policy("arn:aws:iam::123456789012:root", 45))
    iam.put_role_policy(RoleName="inline", PolicyName="one", PolicyDocument=half)
    error = _refused(lambda: iam.put_role_policy(RoleName="inline", PolicyName="two", PolicyDocument=half))
    assert error["Code"] == "LimitExceeded"
    assert "10240" in error["Message"]


@proves("patch_template_body_size")
def test_a_template_body_over_51200_bytes_is_refused_and_a_template_url_is_not(aws):
    cfn, s3 = aws("cloudformation"), aws("s3")
    topics = {f"Topic{i}": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"t{i}", "DisplayName": "x" * 60}}
              for i in range(450)}
    body = _template(topics)
    assert len(body) > 51_200
    error = _refused(lambda: cfn.create_stack(StackName="big", TemplateBody=body))
    assert error["Code"] == "ValidationError"
    assert "less than or equal to 51200" in error["Message"]
    s3.create_bucket(Bucket="fidelity-templates")
    s3.put_object(Bucket="fidelity-templates", Key="big.json", Body=body.encode())
    cfn.create_stack(StackName="big", TemplateURL="https://fidelity-templates.s3.amazonaws.com/big.json")
    assert cfn.describe_stacks(StackName="big")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


@proves("patch_policy_principals")
def test_a_trust_policy_naming_a_role_that_does_not_exist_is_refused(aws):
    iam = aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": "arn:aws:iam::123456789012:role/fidelity-nobody"}}]}
    error = _refused(lambda: iam.create_role(RoleName="trusting", AssumeRolePolicyDocument=json.dumps(trust)))
    assert error["Code"] == "MalformedPolicyDocument"
    assert "Invalid principal in policy" in error["Message"]


_TRUST_CLOUDFORMATION = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@proves("patch_role_deletion_principals")
def test_a_deleted_roles_grants_name_its_unique_id(aws):
    s3, kms, iam = aws("s3"), aws("kms"), aws("iam")
    role = iam.create_role(RoleName="fidelity-deleted", AssumeRolePolicyDocument=_TRUST_CLOUDFORMATION)["Role"]
    arn, unique_id = role["Arn"], role["RoleId"]
    assert unique_id.startswith("AROA")
    s3.create_bucket(Bucket="fidelity")
    s3.put_bucket_policy(Bucket="fidelity", Policy=json.dumps(_policy([arn, "arn:aws:iam::123456789012:root"])))
    key = kms.create_key(Policy=json.dumps(_policy(arn)))["KeyMetadata"]["KeyId"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn},
                                                     "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="fidelity-trusting", AssumeRolePolicyDocument=json.dumps(trust))
    iam.delete_role(RoleName="fidelity-deleted")
    bucket_policy = json.loads(s3.get_bucket_policy(Bucket="fidelity")["Policy"])
    assert bucket_policy["Statement"][0]["Principal"]["AWS"] == [unique_id, "arn:aws:iam::123456789012:root"]
    key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert key_policy["Statement"][0]["Principal"]["AWS"] == unique_id
    document = iam.get_role(RoleName="fidelity-trusting")["Role"]["AssumeRolePolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Principal"]["AWS"] == unique_id
    # a role created again under the name has a new id, and the old grants do not name it
    again = iam.create_role(RoleName="fidelity-deleted", AssumeRolePolicyDocument=_TRUST_CLOUDFORMATION)["Role"]
    assert again["RoleId"] != unique_id
    assert json.loads(s3.get_bucket_policy(Bucket="fidelity")["Policy"]) == bucket_policy


def test_propagation_mode_refuses_a_new_role_as_a_principal_until_it_has_propagated():
    url = _start((), ("--iam-propagation-seconds", "2"))
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"))
    s3, kms, iam = _client(url, "s3"), _client(url, "kms"), _client(url, "iam")
    arn = iam.create_role(RoleName="fidelity-new", AssumeRolePolicyDocument=_TRUST_CLOUDFORMATION)["Role"]["Arn"]
    created = time.monotonic()
    s3.create_bucket(Bucket="fidelity")
    error = _refused(lambda: s3.put_bucket_policy(Bucket="fidelity", Policy=json.dumps(_policy(arn))))
    assert (error["Code"], error["Message"]) == ("MalformedPolicy", "Invalid principal in policy")
    assert _refused(lambda: kms.create_key(Policy=json.dumps(_policy(arn))))["Code"] == \
        "MalformedPolicyDocumentException"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn},
                                                     "Action": "sts:AssumeRole"}]}
    error = _refused(lambda: iam.create_role(RoleName="fidelity-trusting", AssumeRolePolicyDocument=json.dumps(trust)))
    assert error["Code"] == "MalformedPolicyDocument"
    assert time.monotonic() - created < 2
    time.sleep(max(0.0, 2.1 - (time.monotonic() - created)))
    s3.put_bucket_policy(Bucket="fidelity", Policy=json.dumps(_policy(arn)))
    kms.create_key(Policy=json.dumps(_policy(arn)))
    iam.create_role(RoleName="fidelity-trusting", AssumeRolePolicyDocument=json.dumps(trust))


def _as(endpoint, account: str, service: str, region: str = REGION):
    """A client acting in `account`, through AssumeRole as plinth's profiles do."""
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=region)
    credentials = session.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="fidelity")["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"],
                         region_name=region).client(service, endpoint_url=endpoint)


MANAGEMENT = "888888888888"


def _organization(endpoint, accounts: int):
    """An organization in MANAGEMENT: a unit, a unit below it, `accounts` accounts in the lower
    one, and one account at the root. Returns (organizations client, root, unit, lower, members,
    outside)."""
    org = _as(endpoint, MANAGEMENT, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    lower = org.create_organizational_unit(ParentId=unit, Name="team")["OrganizationalUnit"]["Id"]
    members = []
    for index in range(accounts + 1):
        account = org.create_account(Email=f"m{index}@example.com", AccountName=f"m{index}")[
            "CreateAccountStatus"]["AccountId"]
        if index < accounts:
            org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=lower)
        members.append(account)
    return org, root, unit, lower, members[:-1], members[-1]


def _deploy_role(name: str) -> dict:
    return {"Type": "AWS::IAM::Role", "Properties": {"RoleName": name, "AssumeRolePolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "cloudformation.amazonaws.com"}}]}}}


def _stack_set(cfn, role: str = "deploy-role", auto: bool = True):
    cfn.create_stack_set(StackSetName="roles", TemplateBody=_template({"Role": _deploy_role(role)}),
                         PermissionModel="SERVICE_MANAGED", Capabilities=["CAPABILITY_NAMED_IAM"],
                         AutoDeployment={"Enabled": auto, "RetainStacksOnAccountRemoval": False})


def _settled(cfn, operation_id: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        status = cfn.describe_stack_set_operation(StackSetName="roles", OperationId=operation_id)[
            "StackSetOperation"]["Status"]
        if status not in ("RUNNING", "QUEUED", "STOPPING") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _has_role(endpoint, account: str, name: str) -> bool:
    try:
        _as(endpoint, account, "iam").get_role(RoleName=name)
        return True
    except ClientError:
        return False


@proves("patch_stack_sets")
def test_a_stack_set_operation_runs_for_a_while_and_its_instances_are_stacks_of_the_members(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    _, _, unit, _, members, outside = _organization(endpoint, 2)
    cfn = _as(endpoint, MANAGEMENT, "cloudformation")
    _stack_set(cfn)
    operation = cfn.create_stack_instances(StackSetName="roles", Regions=[REGION],
                                           DeploymentTargets={"OrganizationalUnitIds": [unit]})["OperationId"]
    assert cfn.describe_stack_set_operation(StackSetName="roles", OperationId=operation)[
        "StackSetOperation"]["Status"] == "RUNNING"
    with pytest.raises(ClientError, match="OperationInProgressException"):
        cfn.update_stack_set(StackSetName="roles", TemplateBody=_template({"Role": _deploy_role("deploy-role")}))
    assert _settled(cfn, operation) == "SUCCEEDED"
    results = cfn.list_stack_set_operation_results(StackSetName="roles", OperationId=operation)["Summaries"]
    assert sorted((r["Account"], r["Status"]) for r in results) == sorted((m, "SUCCEEDED") for m in members)
    instances = cfn.list_stack_instances(StackSetName="roles")["Summaries"]
    assert sorted((i["Account"], i["Status"]) for i in instances) == sorted((m, "CURRENT") for m in members)
    for member in members:  # in the unit below the targeted one
        stacks = _as(endpoint, member, "cloudformation").describe_stacks()["Stacks"]
        assert [s["StackName"].startswith("StackSet-roles-") for s in stacks] == [True]
        assert _has_role(endpoint, member, "deploy-role")
    assert not _has_role(endpoint, outside, "deploy-role")

    operation = cfn.update_stack_set(StackSetName="roles", Capabilities=["CAPABILITY_NAMED_IAM"],
                                     TemplateBody=_template({"Role": _deploy_role("renamed-role")}))["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    assert all(_has_role(endpoint, m, "renamed-role") for m in members)

    operation = cfn.delete_stack_instances(StackSetName="roles", Regions=[REGION], RetainStacks=False,
                                           DeploymentTargets={"OrganizationalUnitIds": [unit]})["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    assert cfn.list_stack_instances(StackSetName="roles")["Summaries"] == []
    assert not any(_has_role(endpoint, m, "renamed-role") for m in members)
    cfn.delete_stack_set(StackSetName="roles")


@proves("patch_stack_sets")
def test_the_stack_sets_of_an_account_are_listed_by_status(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    _organization(endpoint, 1)
    cfn = _as(endpoint, MANAGEMENT, "cloudformation")
    _stack_set(cfn)
    listed = cfn.list_stack_sets(Status="ACTIVE")["Summaries"]
    operation = cfn.update_stack_set(
        StackSetName="roles", TemplateBody=_template({"Role": _deploy_role("deploy-role")}),
        Parameters=[{"ParameterKey": "Unused", "ParameterValue": "x"}],
        Tags=[{"Key": "plinth:foundation", "Value": "acme"}], Capabilities=["CAPABILITY_NAMED_IAM"])["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    described = cfn.describe_stack_set(StackSetName="roles")["StackSet"]
    assert described["Parameters"] == [{"ParameterKey": "Unused", "ParameterValue": "x"}]
    assert described["Tags"] == [{"Key": "plinth:foundation", "Value": "acme"}]
    assert [(s["StackSetName"], s["PermissionModel"]) for s in listed] == [("roles", "SERVICE_MANAGED")]
    cfn.delete_stack_set(StackSetName="roles")
    assert cfn.list_stack_sets(Status="ACTIVE")["Summaries"] == []


@proves("patch_stack_sets")
def test_auto_deployment_follows_an_account_into_and_out_of_a_targeted_unit(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    org, root, unit, lower, _, outside = _organization(endpoint, 1)
    cfn = _as(endpoint, MANAGEMENT, "cloudformation")
    _stack_set(cfn)
    operation = cfn.create_stack_instances(StackSetName="roles", Regions=[REGION],
                                           DeploymentTargets={"OrganizationalUnitIds": [unit]})["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    org.move_account(AccountId=outside, SourceParentId=root, DestinationParentId=lower)
    assert _has_role(endpoint, outside, "deploy-role")
    assert outside in [i["Account"] for i in cfn.list_stack_instances(StackSetName="roles")["Summaries"]]
    org.move_account(AccountId=outside, SourceParentId=lower, DestinationParentId=root)
    assert not _has_role(endpoint, outside, "deploy-role")
    assert outside not in [i["Account"] for i in cfn.list_stack_instances(StackSetName="roles")["Summaries"]]


@proves("patch_stack_sets")
def test_an_instance_that_fails_is_reported_against_its_account_and_the_others_succeed(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    _, _, unit, _, members, _ = _organization(endpoint, 3)
    taken = members[1]
    _as(endpoint, taken, "iam").create_role(RoleName="deploy-role", AssumeRolePolicyDocument=json.dumps(
        _deploy_role("x")["Properties"]["AssumeRolePolicyDocument"]))
    cfn = _as(endpoint, MANAGEMENT, "cloudformation")
    _stack_set(cfn)
    operation = cfn.create_stack_instances(StackSetName="roles", Regions=[REGION],
                                           DeploymentTargets={"OrganizationalUnitIds": [unit]},
                                           OperationPreferences={"FailureToleranceCount": 1})["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"  # within its tolerance of one failure
    results = {r["Account"]: r for r in cfn.list_stack_set_operation_results(
        StackSetName="roles", OperationId=operation)["Summaries"]}
    assert results[taken]["Status"] == "FAILED"
    assert "deploy-role" in results[taken]["StatusReason"]
    assert all(results[m]["Status"] == "SUCCEEDED" for m in members if m != taken)
    instances = {i["Account"]: i for i in cfn.list_stack_instances(StackSetName="roles")["Summaries"]}
    assert instances[taken]["Status"] == "OUTDATED"
    assert instances[taken]["StackInstanceStatus"]["DetailedStatus"] == "FAILED"

    # The role gone, an update of the set makes the failed instance's stack again and leaves the
    # others, whose stacks already hold the template, current.
    _as(endpoint, taken, "iam").delete_role(RoleName="deploy-role")
    operation = cfn.update_stack_set(StackSetName="roles", Capabilities=["CAPABILITY_NAMED_IAM"],
                                     TemplateBody=_template({"Role": _deploy_role("deploy-role")}))["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    instances = cfn.list_stack_instances(StackSetName="roles")["Summaries"]
    assert sorted((i["Account"], i["Status"]) for i in instances) == sorted((m, "CURRENT") for m in members)
    assert _has_role(endpoint, taken, "deploy-role")


@proves("patch_stack_sets")
def test_accounts_refine_a_units_deployment_targets_as_the_account_filter_says(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    _, _, unit, _, members, _ = _organization(endpoint, 3)
    cfn = _as(endpoint, MANAGEMENT, "cloudformation")
    _stack_set(cfn)
    with pytest.raises(ClientError, match="AccountFilterType"):
        cfn.create_stack_instances(StackSetName="roles", Regions=[REGION], DeploymentTargets={
            "OrganizationalUnitIds": [unit], "Accounts": [members[0]]})
    operation = cfn.create_stack_instances(StackSetName="roles", Regions=[REGION], DeploymentTargets={
        "OrganizationalUnitIds": [unit], "Accounts": [members[0]], "AccountFilterType": "DIFFERENCE"})["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    instances = sorted(i["Account"] for i in cfn.list_stack_instances(StackSetName="roles")["Summaries"])
    assert instances == sorted(members[1:])
    assert not _has_role(endpoint, members[0], "deploy-role")


@proves("patch_stack_sets")
def test_the_management_account_in_a_targeted_unit_never_gets_an_instance(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    org, root, unit, lower, members, _ = _organization(endpoint, 1)
    org.move_account(AccountId=MANAGEMENT, SourceParentId=root, DestinationParentId=lower)
    cfn = _as(endpoint, MANAGEMENT, "cloudformation")
    _stack_set(cfn)
    operation = cfn.create_stack_instances(StackSetName="roles", Regions=[REGION],
                                           DeploymentTargets={"OrganizationalUnitIds": [unit]})["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    assert [i["Account"] for i in cfn.list_stack_instances(StackSetName="roles")["Summaries"]] == members
    # Nor does auto-deployment give it one when it moves into a targeted unit.
    org.move_account(AccountId=MANAGEMENT, SourceParentId=lower, DestinationParentId=root)
    org.move_account(AccountId=MANAGEMENT, SourceParentId=root, DestinationParentId=unit)
    assert [i["Account"] for i in cfn.list_stack_instances(StackSetName="roles")["Summaries"]] == members
    assert not _has_role(endpoint, MANAGEMENT, "deploy-role")


@proves("patch_stack_sets")
def test_an_update_of_the_set_leaves_an_inoperable_instance_out(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
    _, _, unit, _, members, _ = _organization(endpoint, 1)
    member = members[0]
    cfn = _as(endpoint, MANAGEMENT, "cloudformation")
    held = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "fidelity-inoperable"}}
    cfn.create_stack_set(StackSetName="roles", TemplateBody=_template({"Held": held}),
                         PermissionModel="SERVICE_MANAGED", Capabilities=["CAPABILITY_NAMED_IAM"],
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    operation = cfn.create_stack_instances(StackSetName="roles", Regions=[REGION],
                                           DeploymentTargets={"OrganizationalUnitIds": [unit]})["OperationId"]
    assert _settled(cfn, operation) == "SUCCEEDED"
    # A delete that fails (the bucket is not empty) leaves the instance INOPERABLE.
    _as(endpoint, member, "s3").put_object(Bucket="fidelity-inoperable", Key="kept", Body=b"x")
    operation = cfn.delete_stack_instances(StackSetName="roles", Regions=[REGION], RetainStacks=False,
                                           DeploymentTargets={"OrganizationalUnitIds": [unit]})["OperationId"]
    assert _settled(cfn, operation) == "FAILED"
    [instance] = cfn.list_stack_instances(StackSetName="roles")["Summaries"]
    assert (instance["Account"], instance["Status"]) == (member, "INOPERABLE")
    # CloudFormation leaves INOPERABLE instances out of every UpdateStackSet.
    operation = cfn.update_stack_set(StackSetName="roles", Capabilities=["CAPABILITY_NAMED_IAM"],
                                     TemplateBody=_template({"Held": held, "Role": _deploy_role("deploy-role")}))["OperationId"]
    _settled(cfn, operation)
    results = cfn.list_stack_set_operation_results(StackSetName="roles", OperationId=operation)["Summaries"]
    assert member not in [r["Account"] for r in results]
    [instance] = cfn.list_stack_instances(StackSetName="roles")["Summaries"]
    assert instance["Status"] == "INOPERABLE"
    assert not _has_role(endpoint, member, "deploy-role")


def _retained(resource: dict) -> dict:
    return {**resource, "DeletionPolicy": "Retain"}


def _import(cfn, stack: str, template: dict, imports: list, name: str = "import"):
    """Creates an IMPORT change set; returns its description."""
    cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType="IMPORT",
                          TemplateBody=json.dumps(template), ResourcesToImport=imports)
    return cfn.describe_change_set(StackName=stack, ChangeSetName=name)


def _bucket_import(logical: str, bucket: str) -> dict:
    return {"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": logical,
            "ResourceIdentifier": {"BucketName": bucket}}


@proves("patch_import_change_sets")
def test_an_import_change_set_brings_a_live_bucket_and_key_under_a_new_stack_untouched(aws):
    cfn, s3, kms = aws("cloudformation"), aws("s3"), aws("kms")
    s3.create_bucket(Bucket="kept-artifacts")
    s3.put_object(Bucket="kept-artifacts", Key="app/build.zip", Body=b"artifact")
    key_id = kms.create_key(Description="made by hand")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/kept", TargetKeyId=key_id)
    template = {"Resources": {
        "Bucket": _retained({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "kept-artifacts"}}),
        "Key": _retained({"Type": "AWS::KMS::Key", "Properties": {}}),
        "Alias": _retained({"Type": "AWS::KMS::Alias",
                            "Properties": {"AliasName": "alias/kept", "TargetKeyId": {"Ref": "Key"}}}),
    }}
    described = _import(cfn, "adopted", template, [
        _bucket_import("Bucket", "kept-artifacts"),
        {"ResourceType": "AWS::KMS::Key", "LogicalResourceId": "Key", "ResourceIdentifier": {"KeyId": key_id}},
        {"ResourceType": "AWS::KMS::Alias", "LogicalResourceId": "Alias",
         "ResourceIdentifier": {"AliasName": "alias/kept"}},
    ])
    assert described["Status"] == "CREATE_COMPLETE", described.get("StatusReason")
    assert _status(cfn, "adopted") == "REVIEW_IN_PROGRESS"
    assert {c["ResourceChange"]["Action"] for c in described["Changes"]} == {"Import"}
    cfn.execute_change_set(StackName="adopted", ChangeSetName="import")
    assert _status(cfn, "adopted") == "IMPORT_COMPLETE"
    held = {r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName="adopted")["StackResources"]}
    assert held == {"Bucket": "kept-artifacts", "Key": key_id, "Alias": "alias/kept"}
    assert s3.get_object(Bucket="kept-artifacts", Key="app/build.zip")["Body"].read() == b"artifact"
    # an update then brings the imported bucket to its template
    template["Resources"]["Bucket"]["Properties"]["VersioningConfiguration"] = {"Status": "Enabled"}
    cfn.update_stack(StackName="adopted", TemplateBody=json.dumps(template))
    assert s3.get_bucket_versioning(Bucket="kept-artifacts")["Status"] == "Enabled"
    assert s3.get_object(Bucket="kept-artifacts", Key="app/build.zip")["Body"].read() == b"artifact"
    # Retain keeps them when the stack goes
    cfn.delete_stack(StackName="adopted")
    assert s3.get_object(Bucket="kept-artifacts", Key="app/build.zip")["Body"].read() == b"artifact"
    assert kms.describe_key(KeyId="alias/kept")["KeyMetadata"]["KeyState"] == "Enabled"


@proves("patch_import_change_sets")
def test_an_import_is_refused_as_cloudformation_refuses_it(aws):
    cfn, s3 = aws("cloudformation"), aws("s3")
    s3.create_bucket(Bucket="loose")
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "loose"}}

    def refused(template, imports, stack="s"):
        with pytest.raises(ClientError) as caught:
            _import(cfn, stack, {"Resources": template}, imports)
        assert caught.value.response["Error"]["Code"] == "ValidationError"
        return caught.value.response["Error"]["Message"]

    assert "must have DeletionPolicy" in refused({"Bucket": bucket}, [_bucket_import("Bucket", "loose")])
    assert "does not match" in refused({"Bucket": _retained(bucket)}, [_bucket_import("Bucket", "other")])
    assert "not being imported" in refused(
        {"Bucket": _retained(bucket), "New": {"Type": "AWS::S3::Bucket", "Properties": {}}},
        [_bucket_import("Bucket", "loose")])
    with pytest.raises(ClientError) as caught:
        _import(cfn, "s", {"Resources": {"Bucket": _retained(bucket)},
                           "Outputs": {"Name": {"Value": {"Ref": "Bucket"}}}}, [_bucket_import("Bucket", "loose")])
    assert "cannot modify or add [Outputs]" in caught.value.response["Error"]["Message"]
    # a refused change set leaves no stack behind
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "s"]


@proves("patch_import_change_sets")
def test_an_import_of_a_missing_or_held_resource_fails_its_change_set(aws):
    cfn, s3 = aws("cloudformation"), aws("s3")
    cfn.create_stack(StackName="owner", TemplateBody=_template(
        {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "held"}}}))
    for name, expected in (("held", "already exists in stack"), ("missing", "does not exist")):
        template = {"Resources": {"Bucket": _retained({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}})}}
        described = _import(cfn, f"take-{name}", template, [_bucket_import("Bucket", name)])
        assert described["Status"] == "FAILED"
        assert expected in described["StatusReason"], described["StatusReason"]
        with pytest.raises(ClientError):
            cfn.execute_change_set(StackName=f"take-{name}", ChangeSetName="import")
    # a bucket of another region is not found from this one
    s3.create_bucket(Bucket="western", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    template = {"Resources": {"Bucket": _retained({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "western"}})}}
    assert _import(cfn, "take-western", template, [_bucket_import("Bucket", "western")])["Status"] == "FAILED"


@proves("patch_import_change_sets")
def test_a_key_pending_deletion_cannot_be_imported(aws):
    cfn, kms = aws("cloudformation"), aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    template = {"Resources": {"Key": _retained({"Type": "AWS::KMS::Key", "Properties": {}})}}
    described = _import(cfn, "k", template, [
        {"ResourceType": "AWS::KMS::Key", "LogicalResourceId": "Key", "ResourceIdentifier": {"KeyId": key_id}}])
    assert described["Status"] == "FAILED"
    assert "does not exist" in described["StatusReason"]


@proves("patch_import_change_sets")
def test_a_resource_removed_from_a_template_with_retain_stays(aws):
    cfn, s3 = aws("cloudformation"), aws("s3")
    kept = _retained({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "released"}})
    other = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "stays-in-stack"}}
    cfn.create_stack(StackName="old", TemplateBody=_template({"Kept": kept, "Other": other}))
    cfn.update_stack(StackName="old", TemplateBody=_template({"Other": other}))
    s3.head_bucket(Bucket="released")
    held = [r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName="old")["StackResources"]]
    assert held == ["Other"]


def _exporting(value: str, resources: dict = None) -> str:
    body = {"Resources": resources or {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {"Shared": {"Value": value, "Export": {"Name": "Shared"}}}}
    return json.dumps(body)


def _list_imports(cfn, name: str):
    try:
        return cfn.list_imports(ExportName=name)
    except ClientError:
        raise
    except Exception as error:  # moto without the patch answers 500 with HTML
        pytest.fail(f"ListImports failed: {error}")


def _importing() -> str:
    return json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
        "BucketName": {"Fn::ImportValue": "Shared"}}}}})


@proves("patch_exports_in_use")
def test_an_export_in_use_cannot_be_changed_or_deleted_and_list_imports_names_its_users(aws):
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="exporter", TemplateBody=_exporting("shared-bucket"))
    with pytest.raises(ClientError) as caught:
        _list_imports(cfn, "Shared")
    assert "is not imported by any stack" in caught.value.response["Error"]["Message"]
    cfn.create_stack(StackName="importer", TemplateBody=_importing())
    assert _list_imports(cfn, "Shared")["Imports"] == ["importer"]
    # a changed value is refused inside the stack, which rolls back
    cfn.update_stack(StackName="exporter", TemplateBody=_exporting("another-bucket"))
    assert _status(cfn, "exporter") == "UPDATE_ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="exporter")["StackEvents"]]
    assert any("Export Shared cannot be updated as it is in use by importer" in r for r in reasons), reasons
    assert cfn.list_exports()["Exports"][0]["Value"] == "shared-bucket"
    # the same value made another way is accepted
    cfn.update_stack(StackName="exporter", TemplateBody=_exporting(
        "shared-bucket", {"Other": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}))
    assert _status(cfn, "exporter") == "UPDATE_COMPLETE"
    cfn.delete_stack(StackName="exporter")
    assert _status(cfn, "exporter") == "DELETE_FAILED"
    stack = cfn.describe_stacks(StackName="exporter")["Stacks"][0]
    assert "Export Shared cannot be deleted as it is in use by importer" in stack["StackStatusReason"]
    # once nobody imports it, it goes with its stack
    cfn.delete_stack(StackName="importer")
    cfn.delete_stack(StackName="exporter")
    assert not cfn.list_exports()["Exports"]


@proves("patch_exports_in_use")
def test_an_updated_export_is_what_importers_see(aws):
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="exporter", TemplateBody=_exporting("first"))
    cfn.update_stack(StackName="exporter", TemplateBody=_exporting("second"))
    assert [e["Value"] for e in cfn.list_exports()["Exports"]] == ["second"]


@proves("patch_stack_resources_by_physical_id")
def test_the_stack_that_holds_a_resource_is_found_by_its_physical_id(aws):
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="holder", Capabilities=["CAPABILITY_NAMED_IAM"], TemplateBody=_template({
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "held-role", "AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}}}}))
    found = cfn.describe_stack_resources(PhysicalResourceId="held-role")["StackResources"]
    assert [(r["StackName"], r["LogicalResourceId"]) for r in found] == [("holder", "Role")]
    with pytest.raises(ClientError) as caught:
        cfn.describe_stack_resources(PhysicalResourceId="loose-role")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "Stack for loose-role does not exist" in caught.value.response["Error"]["Message"]


@proves("patch_import_change_sets")
def test_a_role_made_by_hand_is_imported_with_its_trust_and_then_updated(aws):
    cfn, iam = aws("cloudformation"), aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="by-hand", AssumeRolePolicyDocument=json.dumps(trust))
    role = {"Type": "AWS::IAM::Role", "DeletionPolicy": "Retain",
            "Properties": {"RoleName": "by-hand", "AssumeRolePolicyDocument": trust}}
    described = _import(cfn, "roles", {"Resources": {"Role": role}}, [
        {"ResourceType": "AWS::IAM::Role", "LogicalResourceId": "Role", "ResourceIdentifier": {"RoleName": "by-hand"}}])
    assert described["Status"] == "CREATE_COMPLETE", described.get("StatusReason")
    cfn.execute_change_set(StackName="roles", ChangeSetName="import")
    assert _status(cfn, "roles") == "IMPORT_COMPLETE"
    role["Properties"]["Description"] = "now declared"
    cfn.update_stack(StackName="roles", TemplateBody=json.dumps({"Resources": {"Role": role}}),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    assert iam.get_role(RoleName="by-hand")["Role"]["Description"] == "now declared"


@proves("patch_log_group_update")
def test_a_log_groups_retention_is_updated_in_place(aws):
    cfn, logs = aws("cloudformation"), aws("logs")
    group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/fidelity/kept"}}
    user = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]},
            "Description": {"Fn::GetAtt": ["Group", "Arn"]}}}
    cfn.create_stack(StackName="s", TemplateBody=_template({"Group": group}))
    group["Properties"]["RetentionInDays"] = 365
    cfn.update_stack(StackName="s", TemplateBody=_template({"Group": group}))
    found = logs.describe_log_groups(logGroupNamePrefix="/fidelity/kept")["logGroups"]
    assert [g.get("retentionInDays") for g in found] == [365]
    # still in the stack: another resource can name it
    cfn.update_stack(StackName="s", TemplateBody=_template({"Group": group, "User": user}))
    assert _status(cfn, "s") == "UPDATE_COMPLETE"


def test_asynchronous_mode_keeps_an_import_in_progress():
    url = _start((), ("--stack-seconds", "1.5", "--key-stack-seconds", "3"))
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"))
    cfn, s3 = _client(url, "cloudformation"), _client(url, "s3")
    s3.create_bucket(Bucket="async-import")
    template = {"Resources": {"Bucket": _retained({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "async-import"}})}}
    assert _import(cfn, "i", template, [_bucket_import("Bucket", "async-import")])["Status"] == "CREATE_COMPLETE"
    cfn.execute_change_set(StackName="i", ChangeSetName="import")
    assert _status(cfn, "i") == "IMPORT_IN_PROGRESS"
    deadline = time.monotonic() + 10
    while _status(cfn, "i") == "IMPORT_IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _status(cfn, "i") == "IMPORT_COMPLETE"


@proves("patch_import_change_sets")
def test_a_function_made_by_hand_is_imported_and_then_updated(aws):
    import io
    import zipfile
    cfn, iam, lam = aws("cloudformation"), aws("iam"), aws("lambda")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    made = lam.create_function(FunctionName="by-hand", Runtime="python3.12", Role=role, Handler="index.handler",
                               Code={"ZipFile": code.getvalue()})
    function = {"Type": "AWS::Lambda::Function", "DeletionPolicy": "Retain", "Properties": {
        "FunctionName": "by-hand", "Runtime": "python3.12", "Handler": "index.handler", "Role": role,
        "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"}}}
    described = _import(cfn, "fn", {"Resources": {"Function": function}}, [
        {"ResourceType": "AWS::Lambda::Function", "LogicalResourceId": "Function",
         "ResourceIdentifier": {"FunctionName": "by-hand"}}])
    assert described["Status"] == "CREATE_COMPLETE", described.get("StatusReason")
    assert [c["ResourceChange"]["Action"] for c in described["Changes"]] == ["Import"]
    cfn.execute_change_set(StackName="fn", ChangeSetName="import")
    assert _status(cfn, "fn") == "IMPORT_COMPLETE"
    assert lam.get_function_configuration(FunctionName="by-hand")["CodeSha256"] == made["CodeSha256"], \
        "the import leaves the function's code as it was"
    held = cfn.describe_stack_resources(StackName="fn")["StackResources"]
    assert [(r["LogicalResourceId"], r["PhysicalResourceId"]) for r in held] == [("Function", "by-hand")]
    function["Properties"]["Timeout"] = 30
    cfn.update_stack(StackName="fn", TemplateBody=json.dumps({"Resources": {"Function": function}}))
    assert lam.get_function_configuration(FunctionName="by-hand")["Timeout"] == 30


@proves("patch_update_order")
def test_a_version_added_with_a_code_change_publishes_the_new_code(aws):
    cfn, iam, lam = aws("cloudformation"), aws("iam"), aws("lambda")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="order-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    function = {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": "ordered", "Runtime": "python3.12", "Handler": "index.handler", "Role": role,
        "Code": {"ZipFile": "def handler(event, context):\n    return 'old'\n"}}}
    cfn.create_stack(StackName="o", TemplateBody=_template({"Function": function}))
    function["Properties"]["Code"]["ZipFile"] = "def handler(event, context):\n    return 'new'\n"
    version = {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Function"}}}
    cfn.update_stack(StackName="o", TemplateBody=_template({"Function": function, "Version": version}))
    assert _status(cfn, "o") == "UPDATE_COMPLETE"
    live = lam.get_function_configuration(FunctionName="ordered")["CodeSha256"]
    versions = [v for v in lam.list_versions_by_function(FunctionName="ordered")["Versions"] if v["Version"] != "$LATEST"]
    assert [v["CodeSha256"] for v in versions] == [live], "the version publishes the updated code"
