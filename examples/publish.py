"""Packages examples/example-service into app.zip and puts it at the pipeline's source key in the
build bucket, as a build would. Run with the project's venv (tools/venv.sh creates it):

    .venv/bin/python examples/publish.py [-t topology.example.toml] [--pipeline example-service]

Credentials come from the standard chain; the build account's profile is taken from the topology.
"""
import argparse
import io
import os
import sys
import tomllib
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))


def package(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(folder)):
            archive.write(os.path.join(folder, name), name)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-t", "--topology", default="topology.example.toml")
    parser.add_argument("--pipeline", default="example-service")
    parser.add_argument("--profile", help="the AWS profile to act with (default: the topology's build profile)")
    parser.add_argument("--source", default=os.path.join(HERE, "example-service"))
    args = parser.parse_args()
    with open(args.topology, "rb") as f:
        topology = tomllib.load(f)
    build = topology["build"]
    pipeline = next((p for p in topology.get("pipelines", []) if p["name"] == args.pipeline), None)
    if pipeline is None:
        print(f"error: {args.topology} has no pipeline named {args.pipeline}", file=sys.stderr)
        return 2
    bucket = f"{topology['name']}-build-{build['account']}-{build['region']}"
    key = pipeline["sources"][0]["key"]
    session = boto3.Session(profile_name=args.profile or build.get("profile"), region_name=build["region"])
    s3 = session.client("s3", config=boto3.session.Config(s3={"addressing_style": "path"}))
    # The bucket policy refuses uploads that do not name the bucket's own key: name it.
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    key_arn = encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    s3.put_object(Bucket=bucket, Key=key, Body=package(args.source), ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key_arn)
    print(f"published {args.source} to s3://{bucket}/{key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
