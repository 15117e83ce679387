#!/usr/bin/env bash
# Writes an AWS config for the emulator to stdout: a `base` profile with dummy keys and one
# role_arn profile per account of topology.example.toml (and the test topologies), each assuming a
# role in its own emulated account, as a real multi-account setup would, and an `admin` profile
# (the build account's `plinth-test` role, the administrator of enforcing mode) for what people
# other than plinth do: publishing artifacts, looking at pipelines.
#   tools/emulator/aws-config.sh http://127.0.0.1:PORT > config
set -euo pipefail
endpoint=$1
cat <<CONFIG
[profile base]
aws_access_key_id = plinth-emulator
aws_secret_access_key = plinth-emulator
region = us-east-1
endpoint_url = $endpoint
CONFIG
cat <<CONFIG

[profile admin]
role_arn = arn:aws:iam::111111111111:role/plinth-test
source_profile = base
region = us-east-1
endpoint_url = $endpoint
CONFIG
for pair in build:111111111111 development:222222222222 testing:333333333333 production:444444444444 \
            staging:555555555555 sandbox:666666666666; do
  profile=${pair%%:*} account=${pair##*:}
  cat <<CONFIG

[profile $profile]
role_arn = arn:aws:iam::$account:role/plinth-operator
source_profile = base
region = us-east-1
endpoint_url = $endpoint
CONFIG
done
