"""plinth artifact sync: copies a CodePipeline job's input artifacts to another region's store."""
import json
import traceback

import boto3

CODEPIPELINE = boto3.client("codepipeline")


def destination(job):
    config = job["data"]["actionConfiguration"]["configuration"]
    params = json.loads(config.get("UserParameters") or "{}")
    missing = [k for k in ("DestinationBucket", "DestinationRegion", "DestinationKeyArn") if not params.get(k)]
    if missing:
        raise ValueError("UserParameters lacks " + ", ".join(missing))
    return params


def copy_artifacts(job, params, source=None, target=None):
    source = source or boto3.client("s3")
    target = target or boto3.client("s3", region_name=params["DestinationRegion"])
    copied = []
    for artifact in job["data"]["inputArtifacts"]:
        location = artifact["location"]["s3Location"]
        bucket, key = location["bucketName"], location["objectKey"]
        body = source.get_object(Bucket=bucket, Key=key)["Body"]
        target.upload_fileobj(
            body,
            params["DestinationBucket"],
            key,
            ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": params["DestinationKeyArn"]},
        )
        copied.append(key)
    return copied


def handler(event, context, codepipeline=None, source=None, target=None):
    codepipeline = codepipeline or CODEPIPELINE
    job = event["CodePipeline.job"]
    try:
        params = destination(job)
        copied = copy_artifacts(job, params, source, target)
    except Exception as error:  # reported to CodePipeline, which shows it on the action
        traceback.print_exc()
        message = f"{type(error).__name__}: {error}"[:4000]
        codepipeline.put_job_failure_result(
            jobId=job["id"], failureDetails={"type": "JobFailed", "message": message}
        )
        return {"status": "failed", "reason": message}
    codepipeline.put_job_success_result(jobId=job["id"])
    return {"status": "succeeded", "copied": copied}
