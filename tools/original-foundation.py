"""Builds, on the local emulator, the foundation that the original `bootstrap.sh` (release 1.0.0)
built, for plinth's adoption tests and its adoption demo:

- `CrossAccountPrimary` in the build account and region: a KMS key with the alias
  `alias/codepipeline-crossaccounts`, a build bucket and a pipeline bucket (names made by
  CloudFormation), the pipeline bucket's policy; exports `CrossAccountCMK`, `BuildBucket`,
  `PipelineBucket`;
- `CrossAccountRegional` in each other region of the build account: key, alias, pipeline
  bucket and its policy; exports `CrossAccountCMK` and `PipelineBucket` of that region;
- `CrossAccountDeploy` in each target account, in the build region: the roles
  `CrossAccountCodePipeline` (trusted by the build account) and `CrossAccountCloudFormation`
  (trusted by CloudFormation);
- with `--pipeline NAME`: an application pipeline stack in the build account built from the
  primary stack's exports, deploying to the target accounts through their cross-account roles;
- with `--artifacts`: an object in every bucket.

Usage:
    .venv/bin/python tools/original-foundation.py --endpoint http://127.0.0.1:PORT \\
        --build 111111111111 --region us-east-1 --regions us-west-2,eu-west-1 \\
        --targets 222222222222,333333333333 [--pipeline app] [--artifacts]

Prints one JSON document on stdout: the stacks, buckets and key ids it made. The script talks
only to the endpoint given, with dummy credentials.
"""
import argparse
import json
import sys

import boto3

ALIAS = "alias/codepipeline-crossaccounts"


def session(endpoint: str, account: str, region: str):
    """A client factory acting in `account` (the emulator's assume-role, with the keys and the
    administrator role its enforcing mode knows), in `region`."""
    base = boto3.Session(aws_access_key_id="plinth-test", aws_secret_access_key="plinth-test", region_name=region)
    sts = base.client("sts", endpoint_url=endpoint)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/plinth-test",
                                  RoleSessionName="bootstrap")["Credentials"]
    assumed = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"], region_name=region)
    return lambda service: assumed.client(service, endpoint_url=endpoint)


def key(build: str, targets: list) -> dict:
    roots = [f"arn:aws:iam::{t}:root" for t in targets]
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "Description": "Cross-account CodePipeline artifacts",
            "EnableKeyRotation": True,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "Administer", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{build}:root"},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "TargetAccountsUse", "Effect": "Allow", "Principal": {"AWS": roots},
                 "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*",
                            "kms:ReEncrypt*"], "Resource": "*"},
            ]},
        },
    }


def pipeline_bucket_policy(targets: list) -> dict:
    roots = [f"arn:aws:iam::{t}:root" for t in targets]
    bucket_arn = {"Fn::GetAtt": ["PipelineBucket", "Arn"]}
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {"Bucket": {"Ref": "PipelineBucket"}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Sid": "TargetAccounts", "Effect": "Allow", "Principal": {"AWS": roots},
             "Action": ["s3:GetObject*", "s3:PutObject*", "s3:ListBucket"],
             "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}]},
        ]}},
    }


def encrypted_bucket() -> dict:
    return {"Type": "AWS::S3::Bucket", "Properties": {
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["CMK", "Arn"]}}}]},
    }}


def export(value, name: str) -> dict:
    return {"Value": value, "Export": {"Name": name}}


def primary(build: str, targets: list) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Cross-account pipeline foundation: build region (bootstrap.sh 1.0.0)",
        "Resources": {
            "CMK": key(build, targets),
            "CMKAlias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": ALIAS, "TargetKeyId": {"Ref": "CMK"}}},
            "BuildBucket": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "Enabled"}}},
            "PipelineBucket": encrypted_bucket(),
            "PipelineBucketPolicy": pipeline_bucket_policy(targets),
        },
        "Outputs": {
            "CMK": export({"Fn::GetAtt": ["CMK", "Arn"]}, "CrossAccountCMK"),
            "BuildBucket": export({"Ref": "BuildBucket"}, "BuildBucket"),
            "PipelineBucket": export({"Ref": "PipelineBucket"}, "PipelineBucket"),
        },
    }


def regional(build: str, targets: list) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Cross-account pipeline foundation: other region (bootstrap.sh 1.0.0)",
        "Resources": {
            "CMK": key(build, targets),
            "CMKAlias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": ALIAS, "TargetKeyId": {"Ref": "CMK"}}},
            "PipelineBucket": encrypted_bucket(),
            "PipelineBucketPolicy": pipeline_bucket_policy(targets),
        },
        "Outputs": {
            "CMK": export({"Fn::GetAtt": ["CMK", "Arn"]}, "CrossAccountCMK"),
            "PipelineBucket": export({"Ref": "PipelineBucket"}, "PipelineBucket"),
        },
    }


def deploy(build: str) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Cross-account pipeline foundation: target account (bootstrap.sh 1.0.0)",
        "Resources": {
            "CodePipelineRole": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": "CrossAccountCodePipeline",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{build}:root"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "pipeline", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["cloudformation:*", "s3:*", "kms:*", "iam:PassRole"], "Resource": "*"}]}}],
            }},
            "CloudFormationRole": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": "CrossAccountCloudFormation",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "deploy", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["s3:*", "kms:*", "cloudformation:*"], "Resource": "*"}]}}],
            }},
        },
    }


def application(name: str, build: str, region: str, targets: list) -> dict:
    """A pipeline stack of the kind teams built on the original foundation: its artifact store
    and source come from the primary stack's exports."""
    stages = [{"Name": "Source", "Actions": [{
        "Name": "App", "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
        "Configuration": {"S3Bucket": {"Fn::ImportValue": "BuildBucket"}, "S3ObjectKey": f"{name}/app.zip",
                          "PollForSourceChanges": "false"},
        "OutputArtifacts": [{"Name": "App"}]}]}]
    for target in targets:
        stages.append({"Name": f"Deploy{target}", "Actions": [{
            "Name": "Deploy", "ActionTypeId": {"Category": "Deploy", "Owner": "AWS", "Provider": "CloudFormation", "Version": "1"},
            "RoleArn": f"arn:aws:iam::{target}:role/CrossAccountCodePipeline",
            "Configuration": {"ActionMode": "CREATE_UPDATE", "StackName": name, "TemplatePath": "App::template.yaml",
                              "Capabilities": "CAPABILITY_NAMED_IAM",
                              "RoleArn": f"arn:aws:iam::{target}:role/CrossAccountCloudFormation"},
            "InputArtifacts": [{"Name": "App"}], "Region": region}]})
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Application pipeline {name}, on the cross-account foundation",
        "Resources": {
            "PipelineRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "pipeline", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["s3:*", "kms:*", "sts:AssumeRole"], "Resource": "*"}]}}],
            }},
            "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
                "Name": name,
                "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                "ArtifactStore": {"Type": "S3", "Location": {"Fn::ImportValue": "PipelineBucket"},
                                  "EncryptionKey": {"Id": {"Fn::ImportValue": "CrossAccountCMK"}, "Type": "KMS"}},
                "Stages": stages,
            }},
        },
    }


def create(clients, name: str, template: dict) -> dict:
    cfn = clients("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--build", required=True, help="the build account")
    parser.add_argument("--region", required=True, help="the build region")
    parser.add_argument("--regions", default="", help="the other regions, comma-separated")
    parser.add_argument("--targets", required=True, help="the target accounts, comma-separated")
    parser.add_argument("--pipeline", help="also an application pipeline stack of this name")
    parser.add_argument("--artifacts", action="store_true", help="an object in every bucket")
    args = parser.parse_args()
    if not args.endpoint.startswith(("http://127.0.0.1:", "http://localhost:")):
        print("the endpoint must be the local emulator (http://127.0.0.1:PORT)", file=sys.stderr)
        return 2
    targets = [t for t in args.targets.split(",") if t]
    regions = [r for r in args.regions.split(",") if r and r != args.region]
    made = {"stacks": [], "buckets": {}, "keys": {}}
    for target in targets:
        create(session(args.endpoint, target, args.region), "CrossAccountDeploy", deploy(args.build))
        made["stacks"].append(f"{target}/{args.region}/CrossAccountDeploy")
    for region in [args.region, *regions]:
        clients = session(args.endpoint, args.build, region)
        name = "CrossAccountPrimary" if region == args.region else "CrossAccountRegional"
        template = primary(args.build, targets) if region == args.region else regional(args.build, targets)
        outputs = create(clients, name, template)
        made["stacks"].append(f"{args.build}/{region}/{name}")
        made["keys"][region] = outputs["CMK"].rsplit("/", 1)[-1]
        made["buckets"][f"pipeline/{region}"] = outputs["PipelineBucket"]
        if "BuildBucket" in outputs:
            made["buckets"]["build"] = outputs["BuildBucket"]
        if args.artifacts:
            s3 = clients("s3")
            for bucket in {outputs["PipelineBucket"], outputs.get("BuildBucket")} - {None}:
                s3.put_object(Bucket=bucket, Key="history/artifact.zip", Body=f"artifact of {bucket}".encode(),
                              ServerSideEncryption="aws:kms", SSEKMSKeyId=outputs["CMK"])
    if args.pipeline:
        clients = session(args.endpoint, args.build, args.region)
        create(clients, args.pipeline, application(args.pipeline, args.build, args.region, targets))
        made["stacks"].append(f"{args.build}/{args.region}/{args.pipeline}")
    print(json.dumps(made, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
