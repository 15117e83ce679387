"""Prints the stages and actions of a pipeline, as GetPipeline returns them:

    .venv/bin/python examples/show_pipeline.py [-t topology.example.toml] [--pipeline example-service]
"""
import argparse
import sys
import tomllib

import boto3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-t", "--topology", default="topology.example.toml")
    parser.add_argument("--pipeline", default="example-service")
    parser.add_argument("--profile", help="the AWS profile to act with (default: the topology's build profile)")
    args = parser.parse_args()
    with open(args.topology, "rb") as f:
        topology = tomllib.load(f)
    build = topology["build"]
    session = boto3.Session(profile_name=args.profile or build.get("profile"), region_name=build["region"])
    pipeline = session.client("codepipeline").get_pipeline(name=f"{topology['name']}-{args.pipeline}")["pipeline"]
    print(f"pipeline {pipeline['name']}")
    for region, store in sorted(pipeline.get("artifactStores", {}).items()):
        print(f"  artifact store {region}: {store['location']} (key {store.get('encryptionKey', {}).get('id', '-')})")
    for stage in pipeline["stages"]:
        print(f"  stage {stage['name']}")
        for action in stage["actions"]:
            kind = action["actionTypeId"]
            where = action.get("region", build["region"])
            role = action.get("roleArn", "")
            print(f"    {action['runOrder']}. {action['name']}: {kind['category']}/{kind['provider']} in {where} {role}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
