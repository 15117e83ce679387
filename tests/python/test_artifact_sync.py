"""The artifact sync function, run in-process against moto (two regions, KMS-encrypted buckets)
with a stubbed CodePipeline client that records the job result."""
import importlib.util
import json
import os

import boto3
import pytest
from moto import mock_aws

SOURCE = os.path.join(os.path.dirname(__file__), "..", "..", "src", "templates", "artifact_sync.py")


class StubCodePipeline:
    def __init__(self):
        self.results = []

    def put_job_success_result(self, jobId):
        self.results.append(("success", jobId, None))

    def put_job_failure_result(self, jobId, failureDetails):
        self.results.append(("failure", jobId, failureDetails))


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        spec = importlib.util.spec_from_file_location("artifact_sync", SOURCE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def bucket(region, name):
    kms = boto3.client("kms", region_name=region)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    s3 = boto3.client("s3", region_name=region)
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **config)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    return s3, key


def job(keys, params):
    return {"CodePipeline.job": {"id": "job-1", "data": {
        "actionConfiguration": {"configuration": {"FunctionName": "f", "UserParameters": params}},
        "inputArtifacts": [{"name": f"A{i}", "location": {"type": "S3", "s3Location": {
            "bucketName": "primary-artifacts", "objectKey": key}}} for i, key in enumerate(keys)],
    }}}


def test_copies_every_artifact_to_the_destination_region_with_its_key(aws):
    primary, _ = bucket("us-east-1", "primary-artifacts")
    regional, regional_key = bucket("eu-west-1", "regional-artifacts")
    keys = ["pipe/App/abc.zip", "pipe/with space/a+b.zip"]
    for key in keys:
        primary.put_object(Bucket="primary-artifacts", Key=key, Body=b"artifact " + key.encode())
    stub = StubCodePipeline()
    params = json.dumps({"DestinationBucket": "regional-artifacts", "DestinationRegion": "eu-west-1",
                         "DestinationKeyArn": regional_key})
    result = aws.handler(job(keys, params), None, codepipeline=stub)
    assert result == {"status": "succeeded", "copied": keys}
    assert stub.results == [("success", "job-1", None)]
    for key in keys:
        copied = regional.get_object(Bucket="regional-artifacts", Key=key)
        assert copied["Body"].read() == b"artifact " + key.encode()
        assert copied["ServerSideEncryption"] == "aws:kms"
        assert copied["SSEKMSKeyId"] == regional_key


def test_reports_a_missing_source_object_as_a_job_failure(aws):
    bucket("us-east-1", "primary-artifacts")
    _, regional_key = bucket("eu-west-1", "regional-artifacts")
    stub = StubCodePipeline()
    params = json.dumps({"DestinationBucket": "regional-artifacts", "DestinationRegion": "eu-west-1",
                         "DestinationKeyArn": regional_key})
    aws.handler(job(["pipe/App/missing.zip"], params), None, codepipeline=stub)
    [(outcome, job_id, details)] = stub.results
    assert (outcome, job_id) == ("failure", "job-1")
    assert "NoSuchKey" in details["message"]


def test_reports_incomplete_user_parameters_as_a_job_failure(aws):
    stub = StubCodePipeline()
    aws.handler(job(["k"], json.dumps({"DestinationBucket": "b"})), None, codepipeline=stub)
    [(outcome, _, details)] = stub.results
    assert outcome == "failure"
    assert "DestinationRegion" in details["message"] and "DestinationKeyArn" in details["message"]


def test_copies_an_artifact_larger_than_the_multipart_threshold(aws):
    primary, _ = bucket("us-east-1", "primary-artifacts")
    regional, regional_key = bucket("eu-west-1", "regional-artifacts")
    key = "pipe/App/large.zip"
    body = os.urandom(9 * 1024 * 1024)
    primary.put_object(Bucket="primary-artifacts", Key=key, Body=body)
    target = boto3.client("s3", region_name="eu-west-1")
    calls = []
    target.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    stub = StubCodePipeline()
    params = json.dumps({"DestinationBucket": "regional-artifacts", "DestinationRegion": "eu-west-1",
                         "DestinationKeyArn": regional_key})
    result = aws.handler(job([key], params), None, codepipeline=stub, target=target)
    assert result == {"status": "succeeded", "copied": [key]}
    # the path that needs kms:Decrypt on the destination key: a multipart upload
    assert "CreateMultipartUpload" in calls and "CompleteMultipartUpload" in calls
    assert calls.count("UploadPart") == 2
    assert "PutObject" not in calls
    copied = regional.get_object(Bucket="regional-artifacts", Key=key)
    assert copied["Body"].read() == body
    assert copied["ServerSideEncryption"] == "aws:kms"
    assert copied["SSEKMSKeyId"] == regional_key
    assert copied["ETag"].endswith('-2"')
