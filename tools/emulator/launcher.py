"""plinth's local AWS: the moto server (pinned to 5.2.5) made faithful where plinth depends on it.

Run it like moto_server:

    .venv/bin/python tools/emulator/launcher.py -H 127.0.0.1 -p 5000

`--plain` starts moto unpatched; the launcher's tests use it to prove that every patch is still
needed (each test is expected to fail on plain moto).

Each patch fixes one way in which moto 5.2.5 disagrees with AWS for the stacks plinth manages.
They replace moto internals, which is why moto is pinned exactly in tools/requirements.txt: an
upgrade that breaks a patch fails the launcher's tests instead of silently lying.
"""
import copy
import json
import sys
from typing import Any


def _document(value: Any) -> str:
    """CloudFormation accepts policy documents as objects; the service APIs store JSON text."""
    return value if isinstance(value, str) else json.dumps(value)


def patch_kms_key() -> None:
    """AWS::KMS::Key: moto stores KeyPolicy as an object (DescribeKey answers 500, GetKeyPolicy
    returns something the SDKs cannot parse) and has no update handler (an update that changes the
    key policy silently drops the key from the stack). GetKeyPolicy without PolicyName answers
    NotFound, where AWS defaults the name to "default"."""
    from moto.kms.models import Key
    import moto.kms.responses as kms_responses

    original_create = Key.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        template = copy.deepcopy(cloudformation_json)
        template["Properties"]["KeyPolicy"] = _document(template["Properties"].get("KeyPolicy", {}))
        return original_create(cls, resource_name, template, account_id, region_name, **kwargs)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        original_resource.policy = _document(properties.get("KeyPolicy", {}))
        original_resource.description = properties.get("Description", original_resource.description)
        original_resource.key_rotation_status = properties.get("EnableKeyRotation", False)
        original_resource.enabled = properties.get("Enabled", True)
        return original_resource

    Key.create_from_cloudformation_json = classmethod(create)
    Key.update_from_cloudformation_json = classmethod(update)
    original_assert = kms_responses._assert_default_policy
    kms_responses._assert_default_policy = lambda name: original_assert(name or "default")


def patch_kms_key_deletion() -> None:
    """Deleting a stack deletes its KMS keys at once. AWS schedules them for deletion: the key
    stays, disabled, in PendingDeletion until the stack's PendingWindowInDays (30 by default)
    have passed, and DescribeKey says when."""
    from moto.kms.models import Key, kms_backends

    original_create = Key.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        key = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        key.plinth_pending_window = int(cloudformation_json["Properties"].get("PendingWindowInDays", 30))
        return key

    def delete(self, account_id, region_name):
        kms_backends[account_id][region_name].schedule_key_deletion(
            self.id, getattr(self, "plinth_pending_window", 30))

    Key.create_from_cloudformation_json = classmethod(create)
    Key.delete = delete


def patch_stack_last_updated_time() -> None:
    """DescribeStacks never gives LastUpdatedTime. AWS sets it on every update, and plinth's saved
    plans use it to see that a stack changed after the plan was made."""
    from moto.cloudformation.models import Stack
    from moto.core.utils import utcnow

    original_update = Stack.update

    def update(self, *args, **kwargs):
        result = original_update(self, *args, **kwargs)
        self.last_updated_time = utcnow()
        return result

    Stack.update = update


def patch_no_updates() -> None:
    """UpdateStack with the template, parameters and tags a stack already has starts an update
    that changes nothing. AWS refuses it: `ValidationError: No updates are to be performed.`,
    which plinth reads as "already up to date"."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    original_update = CloudFormationBackend.update_stack

    def update_stack(self, name, template, role_arn, parameters, tags):
        stack = self.get_stack(name)
        resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
        same_tags = tags is None or dict(tags) == dict(stack.tags)
        if stack.has_template(template) and dict(resolved) == dict(stack.parameters) and same_tags:
            raise ValidationError(message="No updates are to be performed.")
        return original_update(self, name, template, role_arn, parameters, tags)

    CloudFormationBackend.update_stack = update_stack


def _compact_size(policy) -> int:
    """The size AWS measures: the document's compact JSON."""
    value = json.loads(policy) if isinstance(policy, (str, bytes)) else policy
    return len(json.dumps(value, separators=(",", ":")))


# Propagation mode: how long a new role stays invisible as a principal (0: visible at once).
_IAM_PROPAGATION_SECONDS = [0.0]


def _visible(role) -> bool:
    """Whether a role has propagated: IAM is eventually consistent, and S3, KMS and IAM itself
    refuse a policy naming a role for a while after CreateRole (propagation mode)."""
    from moto.core.utils import utcnow

    return (utcnow() - role.create_date).total_seconds() >= _IAM_PROPAGATION_SECONDS[0]


def _missing_roles(policy) -> list:
    """Role ARNs a policy names as principals that do not exist (in any emulated account), or
    not yet as far as other services can see (propagation mode)."""
    from moto.iam.models import iam_backends

    value = json.loads(policy) if isinstance(policy, (str, bytes)) else policy
    statements = value.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    missing = []
    for statement in statements:
        principal = statement.get("Principal", {})
        names = principal.get("AWS", []) if isinstance(principal, dict) else []
        for arn in [names] if isinstance(names, str) else names:
            parts = arn.split(":", 5) if isinstance(arn, str) else []
            if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
                continue
            account, name = parts[4], parts[5].rsplit("/", 1)[-1]
            roles = iam_backends[account]["aws"].roles.values() if account.isdigit() else []
            if account != "*" and not any(role.name == name and _visible(role) for role in roles):
                missing.append(arn)
    return missing


def patch_policy_sizes() -> None:
    """Bucket policies, key policies and role trust policies of any size are accepted. AWS
    refuses a bucket policy over 20 KB ("MalformedPolicy: Policy exceeds the maximum allowed
    document size."), a key policy over 32 KB (MalformedPolicyDocumentException), a trust
    policy over 2,048 characters (LimitExceeded: "Cannot exceed quota for ACLSizePerRole") and
    a role's inline policies together over 10,240 characters (LimitExceeded)."""
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend, Role
    from moto.s3.models import S3Backend

    original_bucket_policy = S3Backend.put_bucket_policy

    def put_bucket_policy(self, bucket_name, policy):
        if _compact_size(policy) > 20 * 1024:
            raise _s3_malformed_policy("Policy exceeds the maximum allowed document size.")
        return original_bucket_policy(self, bucket_name, policy)

    S3Backend.put_bucket_policy = put_bucket_policy

    def check_key_policy(policy):
        if policy and _compact_size(policy) > 32 * 1024:
            raise _kms_malformed_policy("Policy exceeds the maximum allowed document size of 32768 bytes.")

    _check_key_policies(check_key_policy)

    def check_trust(document):
        if document and _compact_size(document) > 2_048:
            raise LimitExceededException("Cannot exceed quota for ACLSizePerRole: 2048")

    original_create_role = IAMBackend.create_role

    def create_role(self, role_name, assume_role_policy_document, *args, **kwargs):
        check_trust(assume_role_policy_document)
        return original_create_role(self, role_name, assume_role_policy_document, *args, **kwargs)

    IAMBackend.create_role = create_role
    original_put_policy = Role.put_policy

    def put_policy(self, policy_name, policy_json):
        others = sum(_compact_size(doc) for name, doc in self.policies.items() if name != policy_name)
        if others + _compact_size(policy_json) > 10_240:
            raise LimitExceededException(f"Maximum policy size of 10240 bytes exceeded for role {self.name}")
        return original_put_policy(self, policy_name, policy_json)

    Role.put_policy = put_policy
    original_role_update = Role.update_from_cloudformation_json.__func__

    def role_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        check_trust(cloudformation_json["Properties"].get("AssumeRolePolicyDocument"))
        return original_role_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)

    Role.update_from_cloudformation_json = classmethod(role_update)


def patch_template_body_size() -> None:
    """CreateStack and UpdateStack take a TemplateBody of any size. AWS refuses one over 51,200
    bytes (a larger template must be passed by TemplateURL, up to 1 MB)."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse

    def limited(original):
        def handler(self):
            body = self._get_param("TemplateBody") or ""
            if len(body.encode()) > 51_200:
                raise ValidationError(message=(
                    "1 validation error detected: Value at 'templateBody' failed to satisfy "
                    "constraint: Member must have length less than or equal to 51200"))
            return original(self)
        return handler

    CloudFormationResponse.create_stack = limited(CloudFormationResponse.create_stack)
    CloudFormationResponse.update_stack = limited(CloudFormationResponse.update_stack)


def _check_key_policies(check) -> None:
    """Runs `check` on every key policy a key is created or updated with (CreateKey, and the
    stack update handler where patch_kms_key gives keys one)."""
    from moto.kms.models import Key, KmsBackend

    original_create_key = KmsBackend.create_key

    def create_key(self, policy, *args, **kwargs):
        check(policy)
        return original_create_key(self, policy, *args, **kwargs)

    KmsBackend.create_key = create_key
    if "update_from_cloudformation_json" in Key.__dict__:
        original_key_update = Key.update_from_cloudformation_json.__func__

        def key_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            check(cloudformation_json["Properties"].get("KeyPolicy"))
            return original_key_update(cls, original_resource, new_resource_name, cloudformation_json,
                                       account_id, region_name)

        Key.update_from_cloudformation_json = classmethod(key_update)


def _s3_malformed_policy(message):
    from moto.s3.exceptions import S3ClientError

    class MalformedPolicy(S3ClientError):
        code = 400

        def __init__(self):
            super().__init__("MalformedPolicy", message)

    return MalformedPolicy()


def _kms_malformed_policy(message):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("MalformedPolicyDocumentException", message)


def patch_policy_principals() -> None:
    """Bucket, key and trust policies may name roles that do not exist. AWS refuses them (S3:
    "MalformedPolicy: Invalid principal in policy"; KMS: MalformedPolicyDocumentException; IAM:
    MalformedPolicyDocument "Invalid principal in policy"), which is why plinth grants the deploy
    roles in a second pass, once they exist."""
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.iam.models import IAMBackend
    from moto.s3.models import S3Backend

    original_create_role = IAMBackend.create_role

    def create_role(self, role_name, assume_role_policy_document, *args, **kwargs):
        missing = _missing_roles(assume_role_policy_document) if assume_role_policy_document else []
        if missing:
            raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{missing[0]}"')
        return original_create_role(self, role_name, assume_role_policy_document, *args, **kwargs)

    IAMBackend.create_role = create_role

    original_bucket_policy = S3Backend.put_bucket_policy

    def put_bucket_policy(self, bucket_name, policy):
        if _missing_roles(policy):
            raise _s3_malformed_policy("Invalid principal in policy")
        return original_bucket_policy(self, bucket_name, policy)

    S3Backend.put_bucket_policy = put_bucket_policy

    def check_key_policy(policy):
        missing = _missing_roles(policy) if policy else []
        if missing:
            raise _kms_malformed_policy(f"Policy contains a statement with one or more invalid principals: {missing[0]}")

    _check_key_policies(check_key_policy)


def _principals_by_id(document, arn: str, unique_id: str):
    """The policy `document` (JSON text or object) with every principal `arn` named by
    `unique_id` instead; `None` when it does not name `arn`."""
    value = json.loads(document) if isinstance(document, (str, bytes)) else copy.deepcopy(document)
    statements = value.get("Statement", []) if isinstance(value, dict) else []
    changed = False
    for statement in [statements] if isinstance(statements, dict) else statements:
        principal = statement.get("Principal")
        if not isinstance(principal, dict) or "AWS" not in principal:
            continue
        names = principal["AWS"]
        listed = [names] if isinstance(names, str) else list(names)
        if arn in listed:
            listed = [unique_id if name == arn else name for name in listed]
            principal["AWS"] = listed[0] if isinstance(names, str) else listed
            changed = True
    return value if changed else None


def patch_role_deletion_principals() -> None:
    """Deleting a role leaves the bucket, key and trust policies that name it as they were. AWS
    stores a policy's principals by the role's unique id: once the role is deleted, those
    policies name its id (AROA...) instead of its ARN, and a role created again under the same
    name (a new id) is not granted until each policy is put again (IAM User Guide, "Specifying a
    principal")."""
    from moto.iam.models import IAMBackend, iam_backends
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends

    original_delete = IAMBackend.delete_role

    def delete_role(self, role_name):
        role = self.get_role(role_name)
        arn, unique_id = role.arn, role.id
        original_delete(self, role_name)
        # Other requests change these dicts meanwhile (the server is threaded): each is copied
        # before it is walked, or a delete elsewhere would end this one halfway, role gone.
        for account in list(s3_backends.keys()):
            for backend in list(s3_backends[account].values()):
                for bucket in list(backend.buckets.values()):
                    rewritten = bucket.policy and _principals_by_id(bucket.policy, arn, unique_id)
                    if rewritten:
                        bucket.policy = json.dumps(rewritten).encode()
        for account in list(kms_backends.keys()):
            for backend in list(kms_backends[account].values()):
                for key in list(backend.keys.values()):
                    rewritten = key.policy and _principals_by_id(key.policy, arn, unique_id)
                    if rewritten:
                        key.policy = json.dumps(rewritten)
        for account in list(iam_backends.keys()):
            for backend in list(iam_backends[account].values()):
                for other in list(backend.roles.values()):
                    document = other.assume_role_policy_document
                    rewritten = document and _principals_by_id(document, arn, unique_id)
                    if rewritten:
                        other.assume_role_policy_document = json.dumps(rewritten)

    IAMBackend.delete_role = delete_role


def _after_bucket_create_and_update(apply) -> None:
    """Runs `apply(bucket, cloudformation_json)` after moto creates or updates an
    AWS::S3::Bucket from a template."""
    from moto.s3.models import FakeBucket

    original_create = FakeBucket.create_from_cloudformation_json.__func__
    original_update = FakeBucket.update_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
        bucket = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        return apply(bucket, cloudformation_json)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        bucket = original_update(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                                 region_name)
        return apply(bucket, cloudformation_json)

    FakeBucket.create_from_cloudformation_json = classmethod(create)
    FakeBucket.update_from_cloudformation_json = classmethod(update)


def patch_bucket_versioning() -> None:
    """AWS::S3::Bucket: VersioningConfiguration is ignored on create and update."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    def apply_versioning(bucket, cloudformation_json):
        status = (cloudformation_json.get("Properties", {}).get("VersioningConfiguration") or {}).get("Status")
        if status:
            backend = s3_backends[bucket.account_id][get_partition(bucket.region_name)]
            backend.put_bucket_versioning(bucket.name, status)
        return bucket

    _after_bucket_create_and_update(apply_versioning)


def patch_bucket_settings() -> None:
    """AWS::S3::Bucket: PublicAccessBlockConfiguration, OwnershipControls and
    LifecycleConfiguration are ignored, and BucketEncryption loses BucketKeyEnabled, on create and
    update: the bucket reports no public access block, no ownership controls, no lifecycle rules
    and bucket keys off. Apply them as AWS does (and remove what an update leaves out)."""
    from moto.s3.models import PublicAccessBlock, s3_backends
    from moto.utilities.utils import get_partition

    def lifecycle_rule(rule):
        out = {"ID": rule.get("Id"), "Status": rule.get("Status", "Enabled"),
               "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "NoncurrentVersionExpiration" in rule:
            out["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": str(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
        if "AbortIncompleteMultipartUpload" in rule:
            out["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": str(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
        if "ExpirationInDays" in rule:
            out["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
        return out

    def apply_settings(bucket, cloudformation_json):
        properties = cloudformation_json.get("Properties", {})
        backend = s3_backends[bucket.account_id][get_partition(bucket.region_name)]
        block = properties.get("PublicAccessBlockConfiguration")
        bucket.public_access_block = PublicAccessBlock(
            block.get("BlockPublicAcls"), block.get("IgnorePublicAcls"),
            block.get("BlockPublicPolicy"), block.get("RestrictPublicBuckets")) if block else None
        rules = (properties.get("OwnershipControls") or {}).get("Rules") or []
        bucket.ownership_rule = rules[0]["ObjectOwnership"] if rules else None
        lifecycle = (properties.get("LifecycleConfiguration") or {}).get("Rules") or []
        if lifecycle:
            backend.put_bucket_lifecycle_configuration(bucket.name, [lifecycle_rule(r) for r in lifecycle])
        else:
            bucket.delete_lifecycle()
        encryption = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if encryption and bucket.encryption:
            bucket.encryption["Rule"]["BucketKeyEnabled"] = "true" if encryption[0].get("BucketKeyEnabled") else "false"
        return bucket

    _after_bucket_create_and_update(apply_settings)


def patch_log_group_arn() -> None:
    """AWS::Logs::LogGroup: `Fn::GetAtt Arn` answers `arn:…:log-group:NAME`; CloudFormation
    answers `arn:…:log-group:NAME:*`, the form a policy that names the log group is written in."""
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self, attribute_name):
        value = original(self, attribute_name)
        if attribute_name == "Arn" and not value.endswith(":*"):
            value += ":*"
        return value

    LogGroup.get_cfn_attribute = get_cfn_attribute


def patch_bucket_policy() -> None:
    """AWS::S3::BucketPolicy: not supported at all (skipped with a log warning, the stack completes)."""
    from moto.core.common_models import CloudFormationModel
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    class CfnBucketPolicy(CloudFormationModel):
        __module__ = "moto.s3.cfn_bucket_policy"  # moto derives the service from the module name

        def __init__(self, bucket: str, account_id: str, region_name: str):
            self.bucket, self.account_id, self.region_name = bucket, account_id, region_name

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @property
        def physical_resource_id(self) -> str:
            return self.bucket

        @staticmethod
        def _backend(account_id, region_name):
            return s3_backends[account_id][get_partition(region_name)]

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            properties = cloudformation_json["Properties"]
            cls._backend(account_id, region_name).put_bucket_policy(
                properties["Bucket"], _document(properties["PolicyDocument"]).encode())
            return cls(properties["Bucket"], account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            if original_resource.bucket != cloudformation_json["Properties"]["Bucket"]:
                original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            try:
                cls._backend(account_id, region_name).delete_bucket_policy(resource_name)
            except Exception:  # the bucket is already gone
                pass

        def delete(self, account_id, region_name):
            self.delete_from_cloudformation_json(self.bucket, {}, account_id, region_name)


def patch_managed_policy() -> None:
    """AWS::IAM::ManagedPolicy: no delete handler (deleting the stack fails on the attached role and
    the stack vanishes while its resources stay) and no update handler."""
    from moto.iam.models import ManagedPolicy, iam_backends
    from moto.utilities.utils import get_partition

    def delete_arn(account_id, region_name, arn):
        backend = iam_backends[account_id][get_partition(region_name)]
        if arn not in backend.managed_policies:
            return
        policy = backend.managed_policies[arn]
        for collection in (backend.roles.values(), backend.users.values(), backend.groups.values()):
            for principal in list(collection):
                if arn in principal.managed_policies:
                    policy.detach_from(principal)
        backend.delete_policy(arn)

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        delete_arn(account_id, region_name, resource_name)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        if properties.get("ManagedPolicyName", original_resource.name) != original_resource.name or \
                (properties.get("Path") or "/") != original_resource.path:  # a new name or path replaces, as in AWS
            delete_arn(account_id, region_name, original_resource.arn)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        backend = iam_backends[account_id][get_partition(region_name)]
        arn = original_resource.arn
        for version in list(original_resource.versions):  # stay under the limit of five versions
            if not version.is_default:
                backend.delete_policy_version(arn, version.version_id)
        backend.create_policy_version(arn, _document(properties.get("PolicyDocument")), True)
        for key, collection, attach in (("Roles", backend.roles.values(), backend.attach_role_policy),
                                        ("Users", backend.users.values(), backend.attach_user_policy),
                                        ("Groups", backend.groups.values(), backend.attach_group_policy)):
            wanted = set(properties.get(key, []))
            for principal in list(collection):
                if arn in principal.managed_policies and principal.name not in wanted:
                    original_resource.detach_from(principal)
                elif arn not in principal.managed_policies and principal.name in wanted:
                    attach(arn, principal.name)
        return original_resource

    ManagedPolicy.delete_from_cloudformation_json = classmethod(delete)
    ManagedPolicy.update_from_cloudformation_json = classmethod(update)


def patch_conditions_on_update() -> None:
    """A resource whose Condition turns false during an update is not removed, and one whose
    Condition turns true is created only lazily, when something happens to read it."""
    from moto.cloudformation.parsing import ResourceMap

    original_update = ResourceMap.update

    def update(self, template, parameters=None):
        original_update(self, template, parameters)
        for name, resource_json in template.get("Resources", {}).items():
            condition = resource_json.get("Condition")
            if condition and not self.lazy_condition_map[condition]:
                model = self._parsed_resources.get(name)
                if model is not None and not isinstance(model, str):
                    self._delete_resource(model, resource_json)
                    self._parsed_resources.pop(name, None)
            elif name not in self._parsed_resources:
                _ = self[name]

    ResourceMap.update = update


_FAILED = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_COMPLETE")


def patch_create_failure() -> None:
    """A resource that fails during CreateStack (a role name taken, a bucket name taken) makes moto
    raise from CreateStack itself, leaves the stack in CREATE_PENDING (DescribeStacks then answers
    500) and keeps what was created. AWS reports CREATE_FAILED with the reason, rolls back, and
    ends in ROLLBACK_COMPLETE. Template errors stay synchronous and leave no stack, as in AWS."""
    from moto.cloudformation.exceptions import (ExportNotFound, MissingParameterError, UnsupportedAttribute,
                                                ValidationError)
    from moto.cloudformation.models import CloudFormationBackend, Stack

    _record_resource_failures()
    template_errors = (ValidationError, ExportNotFound, MissingParameterError, UnsupportedAttribute)
    original_create = CloudFormationBackend.create_stack

    def create_stack(self, name, template, parameters, *args, **kwargs):
        before = set(self.stacks)
        try:
            return original_create(self, name, template, parameters, *args, **kwargs)
        except Exception as error:
            new = [self.stacks[stack_id] for stack_id in set(self.stacks) - before]
            if not new:
                raise
            stack = new[0]
            for export in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
                self.exports.pop(export)
            try:
                stack.resource_map.delete()
                rolled_back = True
            except Exception:
                rolled_back = False
            if isinstance(error, template_errors):
                self.stacks.pop(stack.stack_id)
                raise
            reason = getattr(error, "message", None) or str(error)
            _resource_event(stack, _failed_resource(stack, error), "CREATE_FAILED")
            stack._add_stack_event("ROLLBACK_IN_PROGRESS",
                                   resource_status_reason="The following resource(s) failed to create. Rollback requested by user.")
            stack.status = "ROLLBACK_COMPLETE" if rolled_back else "ROLLBACK_FAILED"
            stack.status_reason = reason
            stack._add_stack_event(stack.status)
            return stack

    CloudFormationBackend.create_stack = create_stack
    original_outputs, original_exports = Stack.outputs, Stack.exports
    Stack.outputs = property(lambda self: [] if self.status in _FAILED else original_outputs.fget(self))
    Stack.exports = property(lambda self: [] if self.status in _FAILED else original_exports.fget(self))

    def existing_resources(self):
        # the resource map is lazy: iterating it would re-create what the rollback deleted
        resource_map = self.resource_map
        return [v for k, v in resource_map._parsed_resources.items()
                if k in resource_map._resource_json_map and v is not None and not isinstance(v, str)]

    Stack.stack_resources = property(existing_resources)


def _record_resource_failures() -> None:
    """Remembers, per stack operation, which resource failed last and why: moto raises a
    resource's error without saying which resource it was. Installed once, by the patches that
    turn a resource's failure into its stack's."""
    import moto.cloudformation.parsing as parsing

    if getattr(parsing, "_plinth_recording", False):
        return
    parsing._plinth_recording = True

    def recorded(original):
        def run(logical_id, resource_json, resources_map, *args, **kwargs):
            try:
                return original(logical_id, resource_json, resources_map, *args, **kwargs)
            except Exception as error:
                reason = getattr(error, "message", None) or str(error)
                resources_map._plinth_failed = (logical_id, resource_json.get("Type", ""), reason)
                raise
        return run

    parsing.parse_and_create_resource = recorded(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = recorded(parsing.parse_and_update_resource)


def _resource_event(stack, failed, status: str) -> None:
    """Adds the stack event of one resource (`failed`: logical id, type, reason)."""
    from moto.cloudformation.models import Event

    logical_id, resource_type, reason = failed
    stack.events.append(Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                              physical_resource_id="", resource_type=resource_type, resource_status=status,
                              resource_status_reason=reason, resource_properties=None))


def _failed_resource(stack, error):
    """(logical id, type, reason) of the resource whose failure is `error`."""
    reason = getattr(error, "message", None) or str(error)
    failed = getattr(stack.resource_map, "_plinth_failed", None)
    stack.resource_map._plinth_failed = None
    return (failed[0], failed[1], failed[2]) if failed else (stack.name, "AWS::CloudFormation::Stack", reason)


def patch_update_failure() -> None:
    """A resource that fails during UpdateStack (a policy refused, a limit passed, a managed
    policy that does not exist) makes moto raise from UpdateStack itself, keep the new template
    while the resources stay half-updated, and leave the stack's status as it was. CloudFormation
    accepts the call; the resource's event says UPDATE_FAILED with the reason; the stack rolls
    back (UPDATE_ROLLBACK_IN_PROGRESS) to its previous template, parameters and resource state
    and ends in UPDATE_ROLLBACK_COMPLETE, or UPDATE_ROLLBACK_FAILED when the rollback fails too.
    Template errors stay synchronous, as in AWS."""
    from moto.cloudformation.exceptions import (ExportNotFound, MissingParameterError, UnsupportedAttribute,
                                                ValidationError)
    from moto.cloudformation.models import CloudFormationBackend
    from moto.core.utils import utcnow

    _record_resource_failures()
    template_errors = (ValidationError, ExportNotFound, MissingParameterError, UnsupportedAttribute)
    original_update = CloudFormationBackend.update_stack

    def update_stack(self, name, template, role_arn, parameters, tags):
        stack = self.get_stack(name)
        before = (stack.template, copy.deepcopy(stack.template_dict), dict(stack.parameters), dict(stack.tags),
                  stack.role_arn, stack.description)
        stack.resource_map._plinth_failed = None
        try:
            return original_update(self, name, template, role_arn, parameters, tags)
        except Exception as error:
            if isinstance(error, template_errors) and stack.template == before[0]:
                raise
            roll_back(stack, before, error)
            return stack

    def roll_back(stack, before, error):
        failed = _failed_resource(stack, error)
        _resource_event(stack, failed, "UPDATE_FAILED")
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS",
                               resource_status_reason=f"The following resource(s) failed to update: [{failed[0]}]. ")
        old_template, old_dict, old_parameters, old_tags, old_role, old_description = before
        stack.template, stack.template_dict, stack.description = old_template, old_dict, old_description
        stack.parameters, stack.tags, stack.role_arn = old_parameters, old_tags, old_role
        resource_map = stack.resource_map
        # the failed update's parameters are forgotten: the previous template may not declare them
        for name in set(resource_map.resolved_parameters) - set(old_parameters):
            resource_map.resolved_parameters.pop(name, None)
            resource_map._parsed_resources.pop(name, None)
        resource_map.input_parameters = dict(old_parameters)
        try:
            resource_map.update(copy.deepcopy(old_dict), old_parameters)
            stack.output_map = stack._create_output_map()
            stack.status, stack.status_reason = "UPDATE_ROLLBACK_COMPLETE", None
        except Exception as rollback_error:
            rollback = _failed_resource(stack, rollback_error)
            _resource_event(stack, rollback, "UPDATE_FAILED")
            stack.status, stack.status_reason = "UPDATE_ROLLBACK_FAILED", rollback[2]
        stack._add_stack_event(stack.status)
        stack.last_updated_time = utcnow()

    CloudFormationBackend.update_stack = update_stack


def patch_delete_failure() -> None:
    """DeleteStack with a non-empty bucket reports DELETE_COMPLETE and leaves the bucket, and any
    resource error makes the stack vanish while its resources stay. AWS answers DELETE_FAILED
    ("The bucket you tried to delete is not empty") and keeps the stack, so the delete can be retried."""
    from moto.cloudformation.models import CloudFormationBackend
    from moto.s3.exceptions import BucketNotEmpty
    from moto.s3.models import FakeBucket, s3_backends
    from moto.utilities.utils import get_partition

    def delete_bucket(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = s3_backends[account_id][get_partition(region_name)]
        if resource_name not in backend.buckets:
            return
        if backend.get_bucket(resource_name).keys:
            raise BucketNotEmpty(resource_name)
        backend.delete_bucket(resource_name)

    FakeBucket.delete_from_cloudformation_json = classmethod(delete_bucket)

    def delete_stack(self, name_or_stack_id):
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        if stack is None:
            return  # deleting an unknown or already deleted stack succeeds, as in AWS
        export_names = [] if stack.status in _FAILED else [e.name for e in stack.exports]
        stack.status_reason = None
        try:
            stack.delete()
        except Exception as error:
            reason = getattr(error, "message", None) or str(error)
            stack.status, stack.status_reason = "DELETE_FAILED", reason
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
            return
        self.stacks.pop(stack.stack_id, None)
        self.deleted_stacks[stack.stack_id] = stack
        for name in export_names:
            self.exports.pop(name, None)

    CloudFormationBackend.delete_stack = delete_stack


def patch_object_policy_conditions() -> None:
    """Object requests are checked against the bucket policy without its Conditions, so a Deny
    with a condition denies every request: the TLS-only statements (`aws:SecureTransport`,
    `s3:TlsVersion`) deny every GetObject and PutObject, and the encryption statements deny
    uploads that name the right key. Evaluate the conditions S3 evaluates, as AWS would:

    - the loopback HTTP stands for TLS 1.3: `aws:SecureTransport` is "true", `s3:TlsVersion` 1.3;
    - `s3:x-amz-server-side-encryption` and `s3:x-amz-server-side-encryption-aws-kms-key-id` are
      the request's headers on the requests that create an object (PutObject, CopyObject and
      CreateMultipartUpload, which AWS authorises as s3:PutObject), absent when not sent; parts
      and completions of a multipart upload are not checked against them;
    - statements with any other condition are left to moto, as before;
    - a denied request is answered with S3's AccessDenied error, not an empty 403.
    """
    import threading

    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    request = threading.local()
    ACCESS_DENIED = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                     '<Message>Access Denied</Message></Error>')
    original_permission = FakeBucket.get_permission
    original_key_response = S3Response._key_response
    encryption_keys = ("s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id")

    def key_response(self, req, full_url):
        from urllib.parse import parse_qs, urlparse

        query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in req.headers.items()}
        creates = (req.method == "PUT" and "partNumber" not in query) or (req.method == "POST" and "uploads" in query)
        context = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
        if creates:
            for key, header in zip(encryption_keys, ("x-amz-server-side-encryption",
                                                     "x-amz-server-side-encryption-aws-kms-key-id")):
                if header in headers:
                    context[key] = headers[header]
        request.context, request.creates, request.multipart = context, creates, req.method == "POST"
        try:
            response = original_key_response(self, req, full_url)
        finally:
            request.context = None
        if isinstance(response, tuple) and response[0] == 403 and not response[2]:
            # moto denies with an empty body; S3 says why, and the SDKs read the code from it
            return 403, {"Content-Type": "application/xml"}, ACCESS_DENIED
        return response

    def matches(operator: str, actual, expected) -> bool:
        values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
        if operator == "Bool":
            return actual is not None and actual.lower() in [v.lower() for v in values]
        if operator == "StringEquals":
            return actual in values
        if operator == "StringNotEquals":
            return actual not in values
        if operator == "NumericLessThan":
            return actual is not None and any(float(actual) < float(v) for v in values)
        raise KeyError(operator)

    def applies(statement, context, creates):
        """True or False when the emulator evaluates the statement's condition, None otherwise."""
        condition = statement.get("Condition") or {}
        for operator, pairs in condition.items():
            for key, expected in pairs.items():
                if key in encryption_keys and not creates:
                    return False
                if key not in context and key not in encryption_keys:
                    return None
                try:
                    if not matches(operator, context.get(key), expected):
                        return False
                except KeyError:
                    return None
        return True

    def get_permission(self, action, resource):
        if self.policy is None:
            return original_permission(self, action, resource)
        context = getattr(request, "context", None)
        if context is None:  # a bucket-level request, such as DeleteObjects
            context, creates, multipart = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}, False, False
        else:
            creates, multipart = request.creates, request.multipart
        if multipart and creates:
            action = "s3:PutObject"  # CreateMultipartUpload; moto names it s3:PostObject
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        kept = []
        for statement in statements:
            verdict = applies(statement, context, creates)
            if verdict is None:
                kept.append(statement)
            elif verdict:
                kept.append({k: v for k, v in statement.items() if k != "Condition"})
        saved = self.policy
        self.policy = json.dumps({**document, "Statement": kept}).encode()
        try:
            return original_permission(self, action, resource)
        finally:
            self.policy = saved

    S3Response._key_response = key_response
    FakeBucket.get_permission = get_permission


def patch_role_resource() -> None:
    """AWS::IAM::Role: inline policy documents are stored as objects (GetRolePolicy answers with a
    Python repr instead of JSON), ManagedPolicyArns are ignored, a PermissionsBoundary naming no
    policy is accepted, and an update applies only the description: changed inline policies,
    managed policies, boundaries and trust policies are silently kept as they were. Store JSON
    text, attach managed policies and set the boundary (failing, as AWS does, for a policy that
    does not exist), and update all of it in place. AWS managed policies, which moto loads only
    on request, are loaded when a role or an AttachRolePolicy call first names one."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, Role, iam_backends
    from moto.utilities.utils import get_partition

    # AWS knows its managed policies. moto can load all of them into every account, which costs
    # seconds each time; instead an AWS managed policy is loaded when a role first names it.
    aws_policies = {}

    def known_policy(backend, arn):
        if arn in backend.managed_policies:
            return True
        if not aws_policies:
            aws_policies.update(json.loads(aws_managed_policies_data))
        name = arn.rsplit("/", 1)[-1]
        if arn.split(":")[4] != "aws" or name not in aws_policies:
            return False
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, aws_policies[name])
        backend.managed_policies[policy.arn] = policy
        return policy.arn == arn

    original_create = Role.create_from_cloudformation_json.__func__

    def sync(role, backend, properties, previous):
        wanted = {p["PolicyName"]: _document(p["PolicyDocument"]) for p in properties.get("Policies", [])}
        for name in list(role.policies):
            if name not in wanted:
                role.delete_policy(name)
        for name, document in wanted.items():
            role.put_policy(name, document)
        old = set(previous.get("ManagedPolicyArns", []))
        new = set(properties.get("ManagedPolicyArns", []))
        for arn in old - new:
            if arn in role.managed_policies:
                backend.detach_role_policy(arn, role.name)
        from moto.iam.exceptions import NotFoundException

        for arn in sorted(new - set(role.managed_policies)):
            if not known_policy(backend, arn):
                # AWS fails the resource (and so the stack) rather than skip the policy.
                raise NotFoundException(f"Policy {arn} does not exist or is not attachable.")
            backend.attach_role_policy(arn, role.name)
        boundary = properties.get("PermissionsBoundary") or None
        if boundary is not None and not known_policy(backend, boundary):
            raise NotFoundException(f"Scope ARN: {boundary} does not exist or is not attachable.")
        role.permissions_boundary_arn = boundary

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        role = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = iam_backends[account_id][get_partition(region_name)]
        try:
            sync(role, backend, cloudformation_json["Properties"], {})
        except Exception:
            # a resource that failed to create does not exist
            for arn in list(role.managed_policies):
                backend.detach_role_policy(arn, role.name)
            for name in list(role.policies):
                role.delete_policy(name)
            backend.delete_role(role.name)
            raise
        return role

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        backend = iam_backends[account_id][get_partition(region_name)]
        if properties.get("RoleName", original_resource.name) != original_resource.name:
            cls.delete_from_cloudformation_json(original_resource.name, {}, account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        original_resource.assume_role_policy_document = _document(properties["AssumeRolePolicyDocument"])
        original_resource.description = properties.get("Description", "")
        previous = {"ManagedPolicyArns": list(original_resource.managed_policies)}
        sync(original_resource, backend, properties, previous)
        return original_resource

    original_delete = Role.delete_from_cloudformation_json.__func__

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        # CloudFormation detaches a role's managed policies before it deletes the role.
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in list(backend.roles.values()):
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    backend.detach_role_policy(arn, role.name)
        return original_delete(cls, resource_name, cloudformation_json, account_id, region_name)

    # The IAM API too: AWS managed policies can be attached to a role directly.
    from moto.iam.models import IAMBackend

    original_attach = IAMBackend.attach_role_policy

    def attach_role_policy(self, policy_arn, role_name):
        known_policy(self, policy_arn)
        return original_attach(self, policy_arn, role_name)

    IAMBackend.attach_role_policy = attach_role_policy
    Role.create_from_cloudformation_json = classmethod(create)
    Role.update_from_cloudformation_json = classmethod(update)
    Role.delete_from_cloudformation_json = classmethod(delete)


def patch_bucket_versioning_response() -> None:
    """GetBucketVersioning answers with a <GetBucketVersioningResponse> root; AWS's (and the
    strict Rust SDK's) root element is <VersioningConfiguration>."""
    from moto.s3.responses import S3Response

    def get_bucket_versioning(self):
        status = self.backend.get_bucket_versioning(self.bucket_name)
        inner = f"<Status>{status}</Status>" if status else ""
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>')
        return 200, {"Content-Type": "application/xml"}, body

    S3Response.get_bucket_versioning = get_bucket_versioning


def patch_pipeline_metadata_timestamps() -> None:
    """GetPipeline's metadata gives `created` and `updated` as ISO text; the AWS JSON protocol
    sends timestamps as epoch seconds, and the Rust SDK rejects anything else."""
    from moto.codepipeline.models import CodePipeline

    def metadata(self):
        return {
            "pipelineArn": self._arn,
            "created": self._created.timestamp(),
            "updated": self._updated.timestamp(),
        }

    CodePipeline.metadata = property(metadata)


def _api_shape(value, key=None):
    """CloudFormation's PascalCase pipeline properties in the CodePipeline API's camelCase; the
    keys of an action's Configuration are the action's own and stay as they are."""
    if isinstance(value, list):
        return [_api_shape(item) for item in value]
    if isinstance(value, dict) and key != "Configuration":
        return {k[0].lower() + k[1:]: _api_shape(v, k) for k, v in value.items()}
    return value


def patch_codepipeline_resource() -> None:
    """AWS::CodePipeline::Pipeline has no CloudFormation model: the stack "completes" without a
    pipeline. Create, update and delete it through moto's CodePipeline backend, so that
    GetPipeline reads back what the stack made."""
    from moto.codepipeline.models import codepipeline_backends
    from moto.core.common_models import CloudFormationModel

    def pipeline_of(properties):
        pipeline = {
            "name": properties["Name"],
            "roleArn": properties["RoleArn"],
            "stages": _api_shape(properties["Stages"]),
        }
        if "PipelineType" in properties:
            pipeline["pipelineType"] = properties["PipelineType"]
        if "ArtifactStore" in properties:
            pipeline["artifactStore"] = _api_shape(properties["ArtifactStore"])
        if "ArtifactStores" in properties:
            pipeline["artifactStores"] = {
                store["Region"]: _api_shape(store["ArtifactStore"]) for store in properties["ArtifactStores"]
            }
        return pipeline

    class CfnPipeline(CloudFormationModel):
        __module__ = "moto.codepipeline.cfn_pipeline"  # moto derives the service from the module name

        def __init__(self, name: str, account_id: str, region_name: str):
            self.name, self.account_id, self.region_name = name, account_id, region_name

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CodePipeline::Pipeline"

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Version"

        def get_cfn_attribute(self, attribute_name: str):
            return codepipeline_backends[self.account_id][self.region_name].get_pipeline(self.name)[0]["version"]

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            pipeline = pipeline_of(cloudformation_json["Properties"])
            codepipeline_backends[account_id][region_name].create_pipeline(pipeline, None)
            return cls(pipeline["name"], account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            pipeline = pipeline_of(cloudformation_json["Properties"])
            backend = codepipeline_backends[account_id][region_name]
            if pipeline["name"] != original_resource.name:
                backend.delete_pipeline(original_resource.name)
                backend.create_pipeline(pipeline, None)
            else:
                backend.update_pipeline(pipeline)
            return cls(pipeline["name"], account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            backend = codepipeline_backends[account_id][region_name]
            if resource_name in backend.pipelines:
                backend.delete_pipeline(resource_name)

        def delete(self, account_id, region_name):
            self.delete_from_cloudformation_json(self.name, {}, account_id, region_name)


def patch_function_inline_code() -> None:
    """A stack update that changes an AWS::Lambda::Function with inline code (`Code.ZipFile`)
    makes moto read the source as base64: the update fails, or the function gets garbage code
    and a new CodeSha256, even when its code did not change. CloudFormation sends code only when
    `Code` changed, zipped from the source as on create."""
    import base64

    from moto.awslambda.models import LambdaFunction

    create = LambdaFunction.create_from_cloudformation_json.__func__

    @classmethod
    def create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        code = dict(cloudformation_json["Properties"]["Code"])
        function = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        function.template_code = code
        return function

    @classmethod
    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        original_resource.update_configuration(properties)
        code = dict(properties["Code"])
        if code != getattr(original_resource, "template_code", None):
            sent = dict(code)
            if "ZipFile" in sent:
                sent["ZipFile"] = base64.b64encode(cls._create_zipfile_from_plaintext_code(sent["ZipFile"])).decode()
            original_resource.update_function_code(sent)
            original_resource.template_code = code
        return original_resource

    LambdaFunction.create_from_cloudformation_json = create_function
    LambdaFunction.update_from_cloudformation_json = update


LAMBDA_UPDATE_SECONDS = 2.0


def patch_function_update_in_progress() -> None:
    """Lambda takes a few seconds to apply UpdateFunctionConfiguration or UpdateFunctionCode, and
    until it has, `LastUpdateStatus` is `InProgress` and another update is refused with
    `ResourceConflictException` (409, "An update is in progress for resource: ARN"). moto applies
    both at once and never refuses. Patched: each update takes LAMBDA_UPDATE_SECONDS."""
    import time

    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    class UpdateInProgress(LambdaClientError):
        code = 409

        def __init__(self, arn: str):
            super().__init__("ResourceConflictException",
                             f"The operation cannot be performed at this time. An update is in progress for resource: {arn}")

    def updating(function) -> bool:
        return time.monotonic() < getattr(function, "update_until", 0.0)

    def guarded(original):
        def update(self, function_name, qualifier, body):
            function = self.get_function(function_name, qualifier)
            if updating(function):
                raise UpdateInProgress(function.function_arn)
            function.update_until = time.monotonic() + LAMBDA_UPDATE_SECONDS
            return original(self, function_name, qualifier, body)
        return update

    configuration = LambdaFunction.get_configuration

    def get_configuration(self, on_create: bool = False):
        config = configuration(self, on_create)
        if "LastUpdateStatus" in config and updating(self):
            config["LastUpdateStatus"] = "InProgress"
        return config

    LambdaBackend.update_function_code = guarded(LambdaBackend.update_function_code)
    LambdaBackend.update_function_configuration = guarded(LambdaBackend.update_function_configuration)
    LambdaFunction.get_configuration = get_configuration


def patch_lambda_version_resource() -> None:
    """AWS::Lambda::Version: moto gives it no physical id (CloudFormation's is the version's ARN),
    publishes without the template's Description, and answers a stack update that touches it
    with a 500. Like CloudFormation: the physical id is the version's ARN, a change of
    FunctionName, Description or CodeSha256 publishes a new version and deletes the old one, and
    deleting the stack deletes the version."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.models import LambdaVersion, lambda_backends

    def publish(properties, account_id, region_name):
        backend = lambda_backends[account_id][region_name]
        function = backend.publish_version(properties["FunctionName"], properties.get("Description", ""))
        return LambdaVersion({"Version": function.version, "Arn": function.function_arn,
                              "Function": properties["FunctionName"], "Properties": dict(properties)})

    def init(self, spec):
        self.version = spec["Version"]
        self.arn = spec.get("Arn", "")
        self.function = spec.get("Function", "")
        self.properties = spec.get("Properties", {})

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return publish(cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        replaced = any(properties.get(k) != original_resource.properties.get(k)
                       for k in ("FunctionName", "Description", "CodeSha256"))
        if not replaced:
            return original_resource
        new = publish(properties, account_id, region_name)
        if new.arn != original_resource.arn:
            original_resource.delete(account_id, region_name)
        return new

    def delete(self, account_id, region_name):
        try:
            lambda_backends[account_id][region_name].delete_function(self.function, str(self.version))
        except UnknownFunctionException:  # the function, and with it its versions, is gone already
            pass

    LambdaVersion.__init__ = init
    LambdaVersion.physical_resource_id = property(lambda self: self.arn)
    LambdaVersion.create_from_cloudformation_json = create
    LambdaVersion.update_from_cloudformation_json = update
    LambdaVersion.delete = delete


_STACK_SET_SECONDS = [1.0]


def _stack_set_error(code: str, message: str):
    from moto.cloudformation.exceptions import CloudFormationError

    error = type(code, (CloudFormationError,), {"code": code})
    return error(message)


def patch_stack_sets() -> None:
    """moto 5.2.5's service-managed StackSets are a facade: every operation is SUCCEEDED at once,
    an instance's resources are made without a stack the member account lists, the operation's
    results are empty, UpdateStackSet changes no instance, DeleteStackInstances by unit deletes
    nothing, units are resolved one level down, and auto-deployment does nothing when an account
    moves. As CloudFormation: each operation has an id and runs for a while (RUNNING for
    `--stack-set-seconds`, default 1 s, while a second operation on the set is refused with
    OperationInProgressException); each instance is a real stack `StackSet-NAME-UUID` in its
    account and region; the operation reports every account and region (SUCCEEDED, or FAILED
    with the reason of the failed resource) and FAILED itself when more instances failed than
    its FailureToleranceCount (or Percentage) allows; instances are CURRENT, or OUTDATED with the
    reason; ListStackSets lists the sets (by status); units are resolved with every unit below them, refined by AccountFilterType
    (INTERSECTION, DIFFERENCE; the management account never gets an instance); UpdateStackSet updates every
    instance but the INOPERABLE ones (a delete of theirs failed, the stack kept); DeleteStackInstances deletes the stacks of the units' or accounts' instances; and
    with AutoDeployment, MoveAccount into a targeted unit deploys the account's instances (never
    the management account's) and out of every targeted unit removes them (unless
    RetainStacksOnAccountRemoval)."""
    import threading
    import time
    import uuid
    from datetime import datetime, timedelta, timezone

    from moto.cloudformation import models as cfn_models
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult, EmptyResult
    from moto.organizations.models import OrganizationsBackend, organizations_backends

    lock = threading.RLock()
    # (admin account, region) -> (its CloudFormation backend, {name: stack set}); a reset of the
    # emulator makes new backends, which forget the sets of the old ones
    placed: dict = {}

    def sets_of(account, region):
        backend = cloudformation_backends[account][region]
        if placed.get((account, region), (None,))[0] is not backend:
            placed[(account, region)] = (backend, {})
        return placed[(account, region)][1]

    def now():
        return datetime.now(timezone.utc)

    def org_of(account):
        return organizations_backends[account]["aws"]

    def below(org, units):
        """Every unit in `units` and below them."""
        found, level = set(units), list(units)
        while level:
            level = [ou.id for ou in org.ou if ou.parent_id in level and ou.id not in found]
            found.update(level)
        return found

    def accounts_in(org, units):
        inside = below(org, units)
        return sorted(a.id for a in org.accounts if a.parent_id in inside and a.status == "ACTIVE")

    def unit_of(org, account, units):
        inside = {u: below(org, [u]) for u in units}
        parent = next((a.parent_id for a in org.accounts if a.id == account), None)
        return next((u for u, tree in inside.items() if parent in tree), None)

    def failure_reason(stack):
        events = getattr(stack, "events", [])
        for event in reversed(events):
            status = getattr(event, "resource_status", "")
            if status.endswith("_FAILED") and getattr(event, "logical_resource_id", "") != stack.name:
                return f"ResourceLogicalId:{event.logical_resource_id}, ResourceType:{event.resource_type}, ResourceStatusReason:{event.resource_status_reason}."
        return f"The stack is in {stack.status}"

    def running(stack_set):
        return next((op for op in stack_set["operations"] if op["done_at"] > time.monotonic()), None)

    def refuse_while_running(stack_set):
        if running(stack_set) is not None:
            raise _stack_set_error("OperationInProgressException",
                                   f"Another Operation on StackSet [{stack_set['id']}] is in progress")

    def operation(stack_set, action, preferences, work):
        """Runs `work` (a list of (account, region, unit, do)) at once, and reports it as an
        operation that ends `_STACK_SET_SECONDS` later."""
        refuse_while_running(stack_set)
        results = []
        for account, region, unit, do in work:
            reason = do()
            results.append({"Account": account, "Region": region,
                            "Status": "FAILED" if reason else "SUCCEEDED",
                            **({"StatusReason": reason} if reason else {}),
                            **({"OrganizationalUnitId": unit} if unit else {})})
        failed = sum(1 for r in results if r["Status"] == "FAILED")
        preferences = preferences or {}
        tolerance = int(preferences.get("FailureToleranceCount", 0) or 0)
        if "FailureTolerancePercentage" in preferences and results:
            tolerance = int(len(results) * int(preferences["FailureTolerancePercentage"]) / 100)
        op = {"OperationId": str(uuid.uuid4()), "Action": action, "results": results,
              "status": "FAILED" if failed > tolerance else "SUCCEEDED",
              "created": now(), "done_at": time.monotonic() + _STACK_SET_SECONDS[0],
              "preferences": preferences}
        stack_set["operations"].append(op)
        return op

    def backend_for(account, region):
        return cloudformation_backends[account][region]

    def deploy(stack_set, account, region, unit):
        def do():
            instance = stack_set["instances"].get((account, region))
            backend = backend_for(account, region)
            parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["parameters"]}
            stack = None
            try:
                old = backend.stacks.get((instance or {}).get("stack_id"))
                if old is not None and old.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
                    # a failed create leaves a stack that cannot be updated: it is made again
                    backend.delete_stack(old.stack_id)
                    old = None
                if old is None:
                    stack = backend.create_stack(
                        name=f"StackSet-{stack_set['name']}-{uuid.uuid4()}",
                        template=stack_set["template"], parameters=parameters,
                        tags=dict(stack_set["tags"]))
                else:
                    stack = old
                    backend.update_stack(
                        name=instance["stack_id"], template=stack_set["template"], role_arn=None,
                        parameters=stack_set["parameters"], tags=dict(stack_set["tags"]))
            except Exception as error:  # the resource's error, as CloudFormation reports it
                if "No updates are to be performed" in str(error):
                    # an instance whose stack already holds the set's template is current
                    reason = None
                else:
                    stack, reason = None, str(error)
            else:
                reason = None if stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE") else failure_reason(stack)
            stack_set["instances"][(account, region)] = {
                "stack_id": stack.stack_id if stack is not None else (instance or {}).get("stack_id"),
                "unit": unit, "status": "OUTDATED" if reason else "CURRENT", "reason": reason}
            return reason
        return (account, region, unit, do)

    def remove(stack_set, account, region, retain):
        def do():
            instance = stack_set["instances"].get((account, region))
            if instance is None:
                return None
            if not retain and instance.get("stack_id"):
                backend = backend_for(account, region)
                if instance["stack_id"] in backend.stacks:
                    backend.delete_stack(instance["stack_id"])
                    # a delete that failed leaves the stack where it was, DELETE_FAILED
                    stack = backend.stacks.get(instance["stack_id"])
                    if stack is not None and stack.status == "DELETE_FAILED":
                        instance.update(status="INOPERABLE", reason=failure_reason(stack))
                        return instance["reason"]
            del stack_set["instances"][(account, region)]
            return None
        return (account, region, instance_unit(stack_set, account, region), do)

    def instance_unit(stack_set, account, region):
        return (stack_set["instances"].get((account, region)) or {}).get("unit")

    def find(self, name):
        stack_set = sets_of(self.current_account, self.region).get(name)
        if stack_set is None or stack_set["status"] == "DELETED":
            raise cfn_models.StackSetNotFoundException(name)
        return stack_set

    def shape(stack_set):
        return {"StackSetName": stack_set["name"], "StackSetId": stack_set["id"],
                "Description": stack_set["description"], "Status": stack_set["status"],
                "TemplateBody": stack_set["template"],
                # moto's serializer turns these two dicts into CloudFormation's lists
                "Parameters": {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["parameters"]},
                "Capabilities": stack_set["capabilities"], "Tags": dict(stack_set["tags"]),
                "StackSetARN": f"arn:aws:cloudformation:{stack_set['region']}:{stack_set['account']}:stackset/{stack_set['id']}",
                "PermissionModel": stack_set["permission_model"],
                "AutoDeployment": stack_set["auto_deployment"],
                "OrganizationalUnitIds": sorted(stack_set["units"])}

    def create_stack_set(self):
        with lock:
            name = self._get_param("StackSetName")
            named = sets_of(self.current_account, self.region)
            existing = named.get(name)
            if existing is not None and existing["status"] != "DELETED":
                raise _stack_set_error("NameAlreadyExistsException", f"StackSet {name} already exists")
            stack_set = {"name": name, "id": f"{name}:{uuid.uuid4()}", "account": self.current_account,
                         "region": self.region, "template": self._get_param("TemplateBody"),
                         "parameters": self._get_param("Parameters", []),
                         "capabilities": self._get_param("Capabilities", []),
                         "tags": {t["Key"]: t["Value"] for t in self._get_param("Tags", [])},
                         "description": self._get_param("Description"),
                         "permission_model": self._get_param("PermissionModel") or "SELF_MANAGED",
                         "auto_deployment": self._get_params().get("AutoDeployment") or {"Enabled": False},
                         "status": "ACTIVE", "units": set(), "regions": set(), "instances": {},
                         "operations": []}
            for flag in ("Enabled", "RetainStacksOnAccountRemoval"):
                value = stack_set["auto_deployment"].get(flag)
                if isinstance(value, str):
                    stack_set["auto_deployment"][flag] = value.lower() == "true"
            named[name] = stack_set
            return ActionResult({"StackSetId": stack_set["id"]})

    def describe_stack_set(self):
        with lock:
            return ActionResult({"StackSet": shape(find(self, self._get_param("StackSetName")))})

    def targets(self, stack_set):
        deployment = self._get_params().get("DeploymentTargets") or {}
        units = deployment.get("OrganizationalUnitIds", []) or []
        accounts = list(deployment.get("Accounts", []) or []) + list(self._get_param("Accounts", []) or [])
        return units, accounts, deployment.get("AccountFilterType")

    def chosen(org, units, accounts, account_filter, creating):
        """The accounts DeploymentTargets name: the units' accounts (never the management
        account), refined by Accounts as AccountFilterType says."""
        if creating and accounts and not units:
            raise cfn_models.ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
        if creating and units and accounts and account_filter in (None, "NONE"):
            raise cfn_models.ValidationError(message="AccountFilterType is required when both OrganizationalUnitIds and Accounts are specified")
        if creating and account_filter == "UNION":
            raise cfn_models.ValidationError(message="AccountFilterType UNION is not supported for CreateStackInstances")
        management = getattr(getattr(org, "org", None), "master_account_id", None)
        base = [a for a in accounts_in(org, units) if a != management]
        if account_filter == "INTERSECTION":
            return [a for a in base if a in accounts]
        if account_filter == "DIFFERENCE":
            return [a for a in base if a not in accounts]
        if account_filter == "UNION":
            return base + [a for a in accounts if a not in base]
        return base

    def create_stack_instances(self):
        with lock:
            stack_set = find(self, self._get_param("StackSetName"))
            units, accounts, account_filter = targets(self, stack_set)
            regions = self._get_param("Regions", [])
            org = org_of(stack_set["account"])
            pairs = [(a, unit_of(org, a, units)) for a in chosen(org, units, accounts, account_filter, True)]
            stack_set["units"].update(units)
            stack_set["regions"].update(regions)
            work = [deploy(stack_set, a, r, u) for r in regions for a, u in pairs]
            op = operation(stack_set, "CREATE", self._get_params().get("OperationPreferences"), work)
            return ActionResult({"OperationId": op["OperationId"]})

    def update_stack_set(self):
        with lock:
            stack_set = find(self, self._get_param("StackSetName"))
            refuse_while_running(stack_set)
            body = self._get_param("TemplateBody")
            if body:
                stack_set["template"] = body
            if self._get_param("Parameters") is not None:
                stack_set["parameters"] = self._get_param("Parameters", [])
            if self._get_param("Capabilities") is not None:
                stack_set["capabilities"] = self._get_param("Capabilities", [])
            if self._get_param("Tags") is not None:
                stack_set["tags"] = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
            if self._get_param("Description") is not None:
                stack_set["description"] = self._get_param("Description")
            if self._get_params().get("AutoDeployment"):
                stack_set["auto_deployment"] = self._get_params()["AutoDeployment"]
                for flag in ("Enabled", "RetainStacksOnAccountRemoval"):
                    value = stack_set["auto_deployment"].get(flag)
                    if isinstance(value, str):
                        stack_set["auto_deployment"][flag] = value.lower() == "true"
            # INOPERABLE instances are left out of every update
            work = [deploy(stack_set, a, r, i["unit"]) for (a, r), i in sorted(stack_set["instances"].items())
                    if i["status"] != "INOPERABLE"]
            op = operation(stack_set, "UPDATE", self._get_params().get("OperationPreferences"), work)
            return ActionResult({"OperationId": op["OperationId"]})

    def delete_stack_instances(self):
        with lock:
            stack_set = find(self, self._get_param("StackSetName"))
            units, accounts, account_filter = targets(self, stack_set)
            regions = set(self._get_param("Regions", []))
            retain = str(self._get_param("RetainStacks", "false")).lower() == "true"
            org = org_of(stack_set["account"])
            named = set(chosen(org, units, accounts, account_filter, False))
            if account_filter not in ("INTERSECTION", "DIFFERENCE"):
                # instances of the units whose accounts have left them since
                named.update(a for (a, _), i in stack_set["instances"].items() if i["unit"] in units)
            work = [remove(stack_set, a, r, retain)
                    for (a, r) in sorted(stack_set["instances"]) if r in regions and a in named]
            stack_set["units"].difference_update(units)
            op = operation(stack_set, "DELETE", self._get_params().get("OperationPreferences"), work)
            return ActionResult({"OperationId": op["OperationId"]})

    def delete_stack_set(self):
        with lock:
            stack_set = find(self, self._get_param("StackSetName"))
            refuse_while_running(stack_set)
            if stack_set["instances"]:
                raise _stack_set_error("StackSetNotEmptyException",
                                       "StackSet is not empty")
            stack_set["status"] = "DELETED"
            return EmptyResult()

    def list_stack_instances(self):
        with lock:
            stack_set = find(self, self._get_param("StackSetName"))
            op = running(stack_set)
            summaries = []
            for (account, region), instance in sorted(stack_set["instances"].items()):
                busy = op is not None and any(r["Account"] == account and r["Region"] == region for r in op["results"])
                status = "OUTDATED" if busy else instance["status"]
                detailed = "RUNNING" if busy else ("SUCCEEDED" if instance["status"] == "CURRENT" else
                                                   "FAILED" if instance["status"] == "OUTDATED" else "INOPERABLE")
                summaries.append({"StackSetId": stack_set["id"], "Region": region, "Account": account,
                                  "StackId": instance["stack_id"], "Status": status,
                                  **({"StatusReason": instance["reason"]} if instance["reason"] and not busy else {}),
                                  "StackInstanceStatus": {"DetailedStatus": detailed},
                                  **({"OrganizationalUnitId": instance["unit"]} if instance["unit"] else {}),
                                  "DriftStatus": "NOT_CHECKED"})
            return ActionResult({"Summaries": summaries})

    def op_of(self):
        stack_set = find(self, self._get_param("StackSetName"))
        wanted = self._get_param("OperationId")
        op = next((o for o in stack_set["operations"] if o["OperationId"] == wanted), None)
        if op is None:
            raise _stack_set_error("OperationNotFoundException", f"Operation {wanted} not found")
        return stack_set, op

    def describe_stack_set_operation(self):
        with lock:
            stack_set, op = op_of(self)
            done = op["done_at"] <= time.monotonic()
            body = {"OperationId": op["OperationId"], "StackSetId": stack_set["id"], "Action": op["Action"],
                    "Status": op["status"] if done else "RUNNING", "CreationTimestamp": op["created"],
                    "OperationPreferences": op["preferences"]}
            if done:
                body["EndTimestamp"] = op["created"] + timedelta(seconds=_STACK_SET_SECONDS[0])
            return ActionResult({"StackSetOperation": body})

    def list_stack_set_operation_results(self):
        with lock:
            _, op = op_of(self)
            done = op["done_at"] <= time.monotonic()
            results = op["results"] if done else [
                {k: v for k, v in r.items() if k != "StatusReason"} | {"Status": "RUNNING"} for r in op["results"]]
            return ActionResult({"Summaries": results})

    def list_stack_set_operations(self):
        with lock:
            stack_set = find(self, self._get_param("StackSetName"))
            return ActionResult({"Summaries": [
                {"OperationId": o["OperationId"], "Action": o["Action"], "CreationTimestamp": o["created"],
                 "Status": o["status"] if o["done_at"] <= time.monotonic() else "RUNNING"}
                for o in stack_set["operations"]]})

    def list_stack_sets(self):
        with lock:
            wanted = self._get_param("Status")
            return ActionResult({"Summaries": [
                {"StackSetName": s["name"], "StackSetId": s["id"], "Status": s["status"],
                 "PermissionModel": s["permission_model"], "AutoDeployment": s["auto_deployment"]}
                for s in sets_of(self.current_account, self.region).values()
                if wanted in (None, "", s["status"])]})

    for handler in (create_stack_set, describe_stack_set, update_stack_set, delete_stack_set,
                    create_stack_instances, delete_stack_instances, list_stack_instances,
                    describe_stack_set_operation, list_stack_set_operation_results,
                    list_stack_set_operations, list_stack_sets):
        setattr(CloudFormationResponse, handler.__name__, handler)

    original_move = OrganizationsBackend.move_account

    def move_account(self, **kwargs):
        result = original_move(self, **kwargs)
        account = kwargs["AccountId"]
        with lock:
            for (admin, region) in list(placed):
                if admin != self.account_id:
                    continue
                for stack_set in sets_of(admin, region).values():
                    automatic = stack_set["auto_deployment"]
                    if stack_set["status"] != "ACTIVE" or not automatic.get("Enabled"):
                        continue
                    # StackSets never deploy to the management account, wherever it is.
                    management = getattr(getattr(self, "org", None), "master_account_id", None)
                    unit = None if account == management else unit_of(self, account, stack_set["units"])
                    has = [r for (a, r) in stack_set["instances"] if a == account]
                    if unit is not None and not has:
                        work = [deploy(stack_set, account, r, unit) for r in sorted(stack_set["regions"])]
                    elif unit is None and has:
                        retain = bool(automatic.get("RetainStacksOnAccountRemoval"))
                        work = [remove(stack_set, account, r, retain) for r in sorted(has)]
                    else:
                        continue
                    # Auto-deployment queues behind a running operation in AWS; here it runs at once.
                    for _, _, _, do in work:
                        do()
        return result

    OrganizationsBackend.move_account = move_account

# The property of each type that CloudFormation's resource import takes as its identifier.
_IMPORT_IDENTIFIERS = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Key": "KeyId",
    "AWS::KMS::Alias": "AliasName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
}
# Identifiers that are read-only: the template does not declare them.
_READ_ONLY_IDENTIFIERS = {"AWS::KMS::Key"}


def _live_resource(resource_type: str, identifier: str, account: str, region: str):
    """The live resource an import names, or None. Like CloudFormation's read handlers, a bucket
    of another region and a key pending deletion are not found."""
    from moto.iam.models import iam_backends
    from moto.kms.models import kms_backends
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    if resource_type == "AWS::S3::Bucket":
        bucket = s3_backends[account][get_partition(region)].buckets.get(identifier)
        return bucket if bucket is not None and bucket.region_name == region else None
    if resource_type == "AWS::KMS::Key":
        key = kms_backends[account][region].keys.get(identifier)
        return key if key is not None and key.key_state != "PendingDeletion" else None
    if resource_type == "AWS::KMS::Alias":
        return next((k.aliases[identifier] for k in kms_backends[account][region].keys.values()
                     if identifier in k.aliases), None)
    if resource_type == "AWS::IAM::Role":
        return next((r for r in iam_backends[account][get_partition(region)].roles.values()
                     if r.name == identifier), None)
    if resource_type == "AWS::Logs::LogGroup":
        return logs_backends[account][region].groups.get(identifier)
    if resource_type == "AWS::Lambda::Function":
        from moto.awslambda.models import lambda_backends
        try:
            return lambda_backends[account][region].get_function(identifier)
        except Exception:  # moto's UnknownFunctionException: not found
            return None
    return None


def _holding_stack(resource_type: str, identifier: str, account: str, region: str):
    """The stack that holds a resource of this type and identifier, or None: IAM is global, so a
    role is looked for in the stacks of every region."""
    from moto.cloudformation.models import cloudformation_backends

    regions = cloudformation_backends[account].keys() if resource_type == "AWS::IAM::Role" else [region]
    for stack_region in list(regions):
        for stack in list(cloudformation_backends[account][stack_region].stacks.values()):
            resource_map = stack.resource_map
            for logical, resource in list(resource_map._parsed_resources.items()):
                declared = resource_map._resource_json_map.get(logical) or {}
                if (declared.get("Type") == resource_type and not isinstance(resource, str)
                        and getattr(resource, "physical_resource_id", None) == identifier):
                    return stack
    return None


def patch_import_change_sets() -> None:
    """moto has no resource import: a change set of type IMPORT is taken as a CREATE, so it makes
    every resource of its template anew (a bucket name held by the account fails) instead of
    bringing the live resources under the stack. CloudFormation imports with `ResourcesToImport`:
    each resource must be declared in the template with a `DeletionPolicy` and its identifier
    property equal to the identifier given; the template may change nothing else (no resource
    added, changed or removed beyond the imports, no output added or changed); the resource must
    exist and belong to no other stack. Template errors are answered as ValidationError from
    CreateChangeSet; a resource that is missing or held makes the change set FAILED with the
    reason. Executing it records the resources in the stack (IMPORT_IN_PROGRESS, then
    IMPORT_COMPLETE) without touching them: an update then brings them to the template.
    Also: a resource removed from a template by an update is kept when its `DeletionPolicy` is
    Retain, as when its stack is deleted (moto deleted it)."""
    from moto.cloudformation import utils as cfn_utils
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, ChangeSet, Stack
    from moto.cloudformation.parsing import ResourceMap
    from moto.cloudformation.responses import CloudFormationResponse

    def parsed(body):
        return json.loads(body) if isinstance(body, str) else body

    def validate(backend, stack, template, imports):
        resources = template.get("Resources", {})
        names = [i["LogicalResourceId"] for i in imports]
        missing = [n for n in names if n not in resources]
        if missing:
            raise ValidationError(message=f"Resources {missing} to import are not declared in the template.")
        wrong_type = [i["LogicalResourceId"] for i in imports
                      if resources[i["LogicalResourceId"]].get("Type") != i["ResourceType"]]
        if wrong_type:
            raise ValidationError(message=f"The ResourceType of resources {wrong_type} to import does not match the template.")
        unsupported = [i["ResourceType"] for i in imports if i["ResourceType"] not in _IMPORT_IDENTIFIERS]
        if unsupported:
            raise ValidationError(message=f"The following resource types are not supported for resource import: {','.join(unsupported)}")
        no_policy = [n for n in names if "DeletionPolicy" not in resources[n]]
        if no_policy:
            raise ValidationError(message=f"The following resources to import {no_policy} must have DeletionPolicy attribute specified in the template.")
        for item in imports:
            prop = _IMPORT_IDENTIFIERS[item["ResourceType"]]
            given = item.get("ResourceIdentifier") or {}
            if set(given) != {prop}:
                raise ValidationError(message=f"The resource identifier of {item['LogicalResourceId']} must be [{prop}], not {sorted(given)}.")
            if item["ResourceType"] in _READ_ONLY_IDENTIFIERS:
                continue  # a key's id is no property a template can set
            declared = resources[item["LogicalResourceId"]].get("Properties", {}).get(prop)
            if declared != given[prop]:
                raise ValidationError(message=f"The identifier {prop}={given[prop]} of resource {item['LogicalResourceId']} does not match its value in the template ({json.dumps(declared)}).")
        before = stack.template_dict.get("Resources", {}) if stack.status != "REVIEW_IN_PROGRESS" else {}
        others = {k: v for k, v in resources.items() if k not in names}
        modified = sorted(set(others) ^ set(before) | {k for k in others if k in before and others[k] != before[k]})
        if modified:
            raise ValidationError(message=f"You have modified resources {modified} in your template that are not being imported. Update, create or delete operations cannot be executed during import operations.")
        outputs_before = stack.template_dict.get("Outputs", {}) if stack.status != "REVIEW_IN_PROGRESS" else {}
        if template.get("Outputs", {}) != outputs_before:
            raise ValidationError(message="As part of the import operation, you cannot modify or add [Outputs]")

    def problems(backend, imports):
        reasons = []
        for item in imports:
            prop = _IMPORT_IDENTIFIERS[item["ResourceType"]]
            identifier = item["ResourceIdentifier"][prop]
            if _live_resource(item["ResourceType"], identifier, backend.account_id, backend.region_name) is None:
                reasons.append(f"Resource {item['LogicalResourceId']} ({item['ResourceType']} {prop}={identifier}) does not exist.")
                continue
            holder = _holding_stack(item["ResourceType"], identifier, backend.account_id, backend.region_name)
            if holder is not None:
                reasons.append(f"Resource {item['LogicalResourceId']} ({item['ResourceType']} {prop}={identifier}) already exists in stack {holder.stack_id}.")
        return " ".join(reasons) or None

    original_response = CloudFormationResponse.create_change_set

    def create_change_set(self):
        if self._get_param("ChangeSetType", "CREATE") != "IMPORT":
            return original_response(self)
        backend = self.cloudformation_backend
        name, change_set_name = self._get_param("StackName"), self._get_param("ChangeSetName")
        body = self._get_param("TemplateBody")
        if self._get_param("TemplateURL"):
            body = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
        imports = self._get_param("ResourcesToImport") or []
        if not imports:
            raise ValidationError(message="ResourcesToImport must be specified for a change set of type IMPORT.")
        parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in self._get_param("Parameters", [])}
        tags = {t["Key"]: t["Value"] for t in self._get_param("Tags", [])}
        template = parsed(body)
        stack = next((s for s in backend.stacks.values() if s.name == name), None)
        if stack is not None and stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        if stack is None:
            stack = Stack(stack_id=cfn_utils.generate_stack_id(name, backend.region_name, backend.account_id),
                          name=name, template={}, parameters=parameters, account_id=backend.account_id,
                          region_name=backend.region_name, tags=tags)
            stack.status = "REVIEW_IN_PROGRESS"
            validate(backend, stack, template, imports)
            backend.stacks[stack.stack_id] = stack
            stack._add_stack_event("REVIEW_IN_PROGRESS", resource_status_reason="User Initiated")
        else:
            validate(backend, stack, template, imports)
        change_set_id = cfn_utils.generate_changeset_id(change_set_name, backend.region_name, backend.account_id)
        change_set = ChangeSet.__new__(ChangeSet)
        change_set.change_set_type, change_set.change_set_id = "IMPORT", change_set_id
        change_set.change_set_name, change_set.stack, change_set.stack_id = change_set_name, stack, stack.stack_id
        change_set.stack_name, change_set.notification_arns = stack.name, []
        change_set.description, change_set.tags, change_set.role_arn = self._get_param("Description"), tags, None
        change_set.template, change_set.template_dict, change_set.parameters = json.dumps(template), template, parameters
        change_set.creation_time = __import__("moto.core.utils", fromlist=["utcnow"]).utcnow()
        from moto.cloudformation.models import Change
        change_set.changes = [Change("Import", i["LogicalResourceId"], i["ResourceType"]) for i in imports]
        change_set._plinth_imports = imports
        reason = problems(backend, imports)
        change_set.status = "FAILED" if reason else "CREATE_COMPLETE"
        change_set.execution_status = "UNAVAILABLE" if reason else "AVAILABLE"
        change_set.status_reason = reason
        backend.change_sets[change_set_id] = change_set
        from moto.core.responses import ActionResult
        return ActionResult({"Id": change_set_id, "StackId": stack.stack_id})

    original_execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None)
        if change_set is None or change_set.change_set_type != "IMPORT":
            return original_execute(self, change_set_name, stack_name)
        if change_set.execution_status != "AVAILABLE":
            raise ValidationError(message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{change_set.status}]")
        stack = self.stacks[change_set.stack_id]
        reason = problems(self, change_set._plinth_imports)
        if reason:  # something changed since the change set was made
            stack._add_stack_event("IMPORT_ROLLBACK_COMPLETE", resource_status_reason=reason)
            stack.status = "IMPORT_ROLLBACK_COMPLETE" if stack.status != "REVIEW_IN_PROGRESS" else "REVIEW_IN_PROGRESS"
            change_set.execution_status = "EXECUTE_FAILED"
            return
        stack._add_stack_event("IMPORT_IN_PROGRESS", resource_status_reason="User Initiated")
        first = stack.status == "REVIEW_IN_PROGRESS"
        if first:
            stack.template, stack.template_dict = change_set.template, change_set.template_dict
            stack.parameters = change_set.parameters
            stack.resource_map = ResourceMap(stack.stack_id, stack.name, change_set.parameters, stack.tags,
                                             stack.region_name, stack.account_id, change_set.template_dict,
                                             self.exports)
            stack.resource_map.load()
            stack.output_map = stack._create_output_map()
        resource_map = stack.resource_map
        resource_map._resource_json_map = change_set.template_dict["Resources"]
        resource_map._template = change_set.template_dict
        for item in change_set._plinth_imports:
            prop = _IMPORT_IDENTIFIERS[item["ResourceType"]]
            live = _live_resource(item["ResourceType"], item["ResourceIdentifier"][prop], self.account_id, self.region_name)
            live.logical_resource_id = item["LogicalResourceId"]
            resource_map._parsed_resources[item["LogicalResourceId"]] = live
            stack._add_stack_event("IMPORT_COMPLETE", resource_status_reason=None)
        stack.template, stack.template_dict = change_set.template, change_set.template_dict
        change_set.execution_status = "EXECUTE_COMPLETE"
        stack.status = "IMPORT_COMPLETE"
        stack._add_stack_event("IMPORT_COMPLETE")

    CloudFormationResponse.create_change_set = create_change_set
    CloudFormationBackend.execute_change_set = execute_change_set

    original_update = ResourceMap.update

    def update(self, template, parameters=None):
        # a resource removed from the template with DeletionPolicy Retain leaves the stack, not AWS
        for logical, declared in list(self._resource_json_map.items()):
            if logical not in template.get("Resources", {}) and declared.get("DeletionPolicy") == "Retain":
                self._parsed_resources.pop(logical, None)
                self._resource_json_map = {k: v for k, v in self._resource_json_map.items() if k != logical}
        return original_update(self, template, parameters)

    ResourceMap.update = update



def _imported_names(value) -> set:
    """The export names a template imports (`Fn::ImportValue` of a literal name)."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            if key == "Fn::ImportValue" and isinstance(inner, str):
                found.add(inner)
            else:
                found |= _imported_names(inner)
        return found
    if isinstance(value, list):
        return set().union(*[_imported_names(v) for v in value]) if value else set()
    return set()


def _importers(backend, export_name: str, exporter_id: str) -> list:
    """The names of the stacks of this account and region that import an export."""
    return sorted(s.name for s in backend.stacks.values()
                  if s.stack_id != exporter_id and s.status not in ("DELETE_COMPLETE", "REVIEW_IN_PROGRESS")
                  and export_name in _imported_names(getattr(s, "template_dict", {}) or {}))


def patch_exports_in_use() -> None:
    """moto keeps an export from the stack's create forever: an update that changes or removes
    it leaves the old value listed, a stack that imports it keeps resolving the old value, and a
    stack whose export another stack imports is deleted. ListImports is not implemented.
    CloudFormation refuses to change or remove an export that another stack imports (the update
    fails and rolls back: "Export X cannot be updated as it is in use by Y") and to delete its
    stack (DELETE_FAILED: "Export X cannot be deleted as it is in use by Y"); an update that keeps
    an imported export's value, whatever the expression that makes it, is accepted; ListImports
    names the importing stacks, or answers ValidationError for an export nobody imports."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack, cloudformation_backends
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    class ExportInUse(Exception):
        def __init__(self, message):
            super().__init__(message)
            self.message = message

    def backend_of(stack):
        return cloudformation_backends[stack.account_id][stack.region_name]

    def held(backend, stack):
        return {name: e for name, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id}

    original_update = Stack.update

    def update(self, *args, **kwargs):
        backend = backend_of(self)
        before = {name: e.value for name, e in held(backend, self).items()}
        original_update(self, *args, **kwargs)
        after = {e.name: e.value for e in self.exports}
        for name, value in before.items():
            users = _importers(backend, name, self.stack_id)
            if users and after.get(name) != value:
                raise ExportInUse(f"Export {name} cannot be updated as it is in use by {', '.join(users)}")
        taken = [n for n in after if n in backend.exports and backend.exports[n].exporting_stack_id != self.stack_id]
        if taken:
            raise ExportInUse(f"Export with name {taken[0]} is already exported by stack "
                              f"{backend.exports[taken[0]].exporting_stack_id}")
        for name in before:
            backend.exports.pop(name, None)
        for export in self.exports:
            backend.exports[export.name] = export

    Stack.update = update

    original_delete = CloudFormationBackend.delete_stack

    def delete_stack(self, name_or_stack_id):
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        if stack is not None:
            for name in held(self, stack):
                users = _importers(self, name, stack.stack_id)
                if users:
                    reason = f"Export {name} cannot be deleted as it is in use by {', '.join(users)}"
                    stack.status, stack.status_reason = "DELETE_FAILED", reason
                    stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
                    return None
        return original_delete(self, name_or_stack_id)

    CloudFormationBackend.delete_stack = delete_stack

    def list_imports(self):
        name = self._get_param("ExportName")
        export = self.cloudformation_backend.exports.get(name)
        users = _importers(self.cloudformation_backend, name, export.exporting_stack_id if export else "")
        if not users:
            raise ValidationError(message=f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": users})

    CloudFormationResponse.list_imports = list_imports



def patch_stack_resources_by_physical_id() -> None:
    """DescribeStackResources ignores PhysicalResourceId: without StackName it fails, so nothing
    tells which stack holds a resource. CloudFormation answers the resources of the stack that
    holds the resource with that physical id, in this region ("Stack for X does not exist" as a
    ValidationError when none does)."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse, StackResourceDTO
    from moto.core.responses import ActionResult

    original = CloudFormationResponse.describe_stack_resources

    def describe_stack_resources(self):
        physical = self._get_param("PhysicalResourceId")
        if not physical or self._get_param("StackName"):
            return original(self)
        backend = self.cloudformation_backend
        for stack in list(backend.stacks.values()):
            resources = [r for r in stack.stack_resources
                         if getattr(r, "physical_resource_id", None) == physical]
            if resources:
                return ActionResult({"StackResources": [StackResourceDTO(stack, r) for r in resources]})
        raise ValidationError(message=f"Stack for {physical} does not exist")

    CloudFormationResponse.describe_stack_resources = describe_stack_resources



def patch_log_group_update() -> None:
    """AWS::Logs::LogGroup has no update handler: an update that changes `RetentionInDays` (an
    imported log group brought to its template, a retention changed) drops the log group from
    the stack, and the next `Fn::GetAtt` of it fails ("references undefined resource").
    CloudFormation sets the retention in place (a new `LogGroupName` replaces the log group)."""
    from moto.logs.models import LogGroup, logs_backends

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("LogGroupName", original_resource.name)
        backend = logs_backends[account_id][region_name]
        if name != original_resource.name:
            backend.delete_log_group(original_resource.name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        backend.put_retention_policy(name, properties.get("RetentionInDays"))
        return original_resource

    LogGroup.update_from_cloudformation_json = classmethod(update)



def _names(value) -> set:
    """The logical ids a template fragment names (Ref, Fn::GetAtt, DependsOn, Fn::Sub's ${X})."""
    import re
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                found.add(inner[0])
            elif key == "Fn::GetAtt" and isinstance(inner, str):
                found.add(inner.split(".")[0])
            elif key == "DependsOn":
                found |= {inner} if isinstance(inner, str) else set(inner)
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(inner, str):
                    found |= _names(inner[1:])
            else:
                found |= _names(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _names(inner)
    return found


def patch_update_order() -> None:
    """A stack update makes the resources it adds before it changes the ones it modifies,
    whatever names what: a new `AWS::Lambda::Version` of a function whose code the same update
    changes publishes the old code. CloudFormation follows the template's dependencies: what a
    new resource names is updated first. Patched: when a resource the update adds names one it
    modifies, that one and everything it names come first (an update to an intermediate
    template), then the rest."""
    from moto.cloudformation.parsing import ResourceMap

    original_update = ResourceMap.update

    def update(self, template, parameters=None):
        diff = self.build_resource_diff(template, parameters)
        new = template.get("Resources", {})
        first = set()
        for added in diff["Add"]:
            first |= _names(new[added]) & set(diff["Modify"])
        if not first:
            return original_update(self, template, parameters)
        # what the modified resources name (added or modified themselves) comes with them
        wanted, queue = set(), list(first)
        while queue:
            name = queue.pop()
            if name in wanted or name not in new:
                continue
            wanted.add(name)
            queue.extend(_names(new[name]))
        intermediate = copy.deepcopy(self._template) or {}
        resources = intermediate.setdefault("Resources", {})
        for name in wanted:
            resources[name] = copy.deepcopy(new[name])
        if "Parameters" in template:
            intermediate["Parameters"] = template["Parameters"]
        original_update(self, intermediate, parameters)
        return original_update(self, template, parameters)

    ResourceMap.update = update



PATCHES = (
    patch_kms_key,
    patch_kms_key_deletion,
    patch_stack_last_updated_time,
    patch_no_updates,
    patch_bucket_versioning,
    patch_bucket_settings,
    patch_log_group_arn,
    patch_bucket_policy,
    patch_managed_policy,
    patch_conditions_on_update,
    patch_create_failure,
    patch_delete_failure,
    patch_update_failure,
    patch_role_deletion_principals,
    patch_object_policy_conditions,
    patch_codepipeline_resource,
    patch_bucket_versioning_response,
    patch_role_resource,
    patch_pipeline_metadata_timestamps,
    patch_function_inline_code,
    patch_function_update_in_progress,
    patch_lambda_version_resource,
    patch_stack_sets,
    patch_import_change_sets,
    patch_exports_in_use,
    patch_stack_resources_by_physical_id,
    patch_log_group_update,
    patch_update_order,
    # after the resource patches above, whose handlers they wrap
    patch_policy_sizes,
    patch_policy_principals,
    patch_template_body_size,
)


def apply_patches(without: tuple = ()) -> None:
    """Applies every patch except those named in `without` (each patch's own test runs with
    only its patch off, to show that this patch is what makes it pass)."""
    import moto

    if moto.__version__ != "5.2.5":
        raise SystemExit(f"plinth's emulator launcher patches moto 5.2.5 internals; found moto {moto.__version__}")
    import enforce

    unknown = set(without) - {p.__name__ for p in PATCHES} - set(enforce.PATCHES)
    if unknown:
        raise SystemExit(f"no such patch: {', '.join(sorted(unknown))}")
    for patch in PATCHES:
        if patch.__name__ not in without:
            patch()


def enable_async_stacks(seconds: float, key_seconds: float) -> None:
    """Asynchronous mode. moto finishes every stack operation inside the API call; CloudFormation
    does not: a stack with a KMS key sits in CREATE_IN_PROGRESS for a minute or two, a delete as
    long. Here each CreateStack, UpdateStack and DeleteStack still does its work at once, but the
    stack shows the operation's *_IN_PROGRESS status for `seconds` (`key_seconds` when its
    template holds a KMS key) before its final one (an executed IMPORT change set too), with outputs only once a create completes; a
    deleted stack stays visible, by name and in listings, as DELETE_IN_PROGRESS until then. While
    a stack is in progress, UpdateStack and DeleteStack answer CloudFormation's ValidationError
    and CreateStack of its name AlreadyExistsException. Stack operations are atomic, as in AWS:
    two CreateStack calls of one name at the same moment make one stack, not two that fight
    over its resources."""
    import threading
    import time

    from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack

    def hold(stack, shown):
        template = json.dumps(getattr(stack, "template_dict", {}) or {})
        delay = key_seconds if "AWS::KMS::Key" in template else seconds
        stack._plinth_hold = (time.monotonic() + delay, shown)

    def held(stack):
        until_shown = getattr(stack, "_plinth_hold", None)
        if until_shown and time.monotonic() < until_shown[0]:
            return until_shown[1]
        return None

    def get_status(self):
        return held(self) or self.__dict__.get("_plinth_status")

    def set_status(self, value):
        self.__dict__["_plinth_status"] = value

    Stack.status = property(get_status, set_status)
    original_outputs = Stack.outputs

    def outputs(self):
        return [] if held(self) == "CREATE_IN_PROGRESS" else original_outputs.fget(self)

    Stack.outputs = property(outputs)

    def deleted_in_progress(backend, name_or_id):
        return next((s for s in backend.deleted_stacks.values()
                     if (s.name == name_or_id or s.stack_id == name_or_id) and held(s)
                     and not any(live.name == s.name for live in backend.stacks.values())), None)

    def live(backend, name_or_id):
        return backend.stacks.get(name_or_id) or next(
            (s for s in backend.stacks.values() if s.name == name_or_id), None)

    original_create = CloudFormationBackend.create_stack
    original_update = CloudFormationBackend.update_stack
    original_delete = CloudFormationBackend.delete_stack
    original_describe = CloudFormationBackend.describe_stacks

    atomic = threading.RLock()

    def create_stack(self, name, *args, **kwargs):
        with atomic:
            if deleted_in_progress(self, name) is not None:
                raise AlreadyExistsException(f"Stack [{name}] already exists")
            stack = original_create(self, name, *args, **kwargs)
            hold(stack, "CREATE_IN_PROGRESS")
            return stack

    def update_stack(self, name, *args, **kwargs):
        with atomic:
            return locked_update(self, name, *args, **kwargs)

    def locked_update(self, name, *args, **kwargs):
        stack = live(self, name)
        shown = held(stack) if stack is not None else None
        if shown:
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {shown} state and can not be updated.")
        stack = original_update(self, name, *args, **kwargs)
        hold(stack, "UPDATE_IN_PROGRESS")
        return stack

    def delete_stack(self, name_or_id):
        with atomic:
            return locked_delete(self, name_or_id)

    def locked_delete(self, name_or_id):
        stack = live(self, name_or_id)
        if stack is None:
            return None  # unknown, or already being deleted: succeeds, as in AWS
        shown = held(stack)
        if shown:
            raise ValidationError(message=f"Stack [{stack.name}] cannot be deleted while in status {shown}")
        result = original_delete(self, name_or_id)
        hold(stack, "DELETE_IN_PROGRESS")
        return result

    def describe_stacks(self, name_or_id):
        if name_or_id:
            deleting = deleted_in_progress(self, name_or_id)
            if deleting is not None:
                return [deleting]
            return original_describe(self, name_or_id)
        deleting = [s for s in self.deleted_stacks.values() if held(s)
                    and not any(live.name == s.name for live in self.stacks.values())]
        return original_describe(self, name_or_id) + deleting

    original_execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):
        with atomic:
            result = original_execute(self, change_set_name, stack_name)
            change_set = self.change_sets.get(change_set_name) or next(
                (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None)
            stack = self.stacks.get(change_set.stack_id) if change_set is not None else None
            if change_set.change_set_type == "IMPORT" and stack is not None and stack.status == "IMPORT_COMPLETE":
                hold(stack, "IMPORT_IN_PROGRESS")
            return result

    CloudFormationBackend.create_stack = create_stack
    CloudFormationBackend.update_stack = update_stack
    CloudFormationBackend.delete_stack = delete_stack
    CloudFormationBackend.describe_stacks = describe_stacks
    CloudFormationBackend.execute_change_set = execute_change_set


class Faults:
    """Fault mode: WSGI middleware that answers a seeded share of requests with the service's
    own throttling error (Throttling for the query APIs, ThrottlingException for the JSON ones,
    SlowDown for S3) and a smaller share with 500 or 503, before moto sees them. Requests to
    `/moto-api` (the tests' own) are never faulted."""

    THROTTLING = {
        "s3": (503, "application/xml",
               '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
               '<Message>Please reduce your request rate.</Message></Error>'),
        "kms": (400, "application/x-amz-json-1.1",
                '{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
        "logs": (400, "application/x-amz-json-1.1",
                 '{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
        "codepipeline": (400, "application/x-amz-json-1.1",
                         '{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
        "lambda": (429, "application/json",
                   '{"Type": "User", "message": "Rate exceeded"}'),
    }
    QUERY = (400, "text/xml",
             '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>'
             '<Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>')

    def __init__(self, app, throttle_share: float, error_share: float, seed: int):
        import random
        import threading

        self.app = app
        self.throttle_share = throttle_share
        self.error_share = error_share
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"throttled": 0, "errors": 0, "passed": 0}

    @staticmethod
    def service(environ) -> str:
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        # Credential=KEY/DATE/REGION/SERVICE/aws4_request
        for part in authorization.replace(",", " ").split():
            if part.startswith("Credential="):
                scope = part.split("=", 1)[1].split("/")
                if len(scope) >= 4:
                    return scope[3]
        return ""

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        with self.lock:
            draw = self.random.random()
            second = self.random.random()
        if draw < self.throttle_share:
            service = self.service(environ)
            if service in ("", "sts"):
                return self.app(environ, start_response)
            status, content_type, body = self.THROTTLING.get(service, self.QUERY)
            if service == "lambda":
                environ_header = [("x-amzn-ErrorType", "TooManyRequestsException")]
            else:
                environ_header = []
            self.counts["throttled"] += 1
            return self.respond(start_response, status, content_type, body, environ_header)
        if draw < self.throttle_share + self.error_share:
            if self.service(environ) in ("", "sts"):
                return self.app(environ, start_response)
            self.counts["errors"] += 1
            status = 500 if second < 0.5 else 503
            code = "InternalFailure" if status == 500 else "ServiceUnavailable"
            service = self.service(environ)
            if service == "s3":
                code = "InternalError" if status == 500 else "ServiceUnavailable"
                body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                        '<Message>We encountered an internal error. Please try again.</Message></Error>')
                content_type = "application/xml"
            elif service in self.THROTTLING:
                body = f'{{"__type": "{code}", "message": "We encountered an internal error."}}'
                content_type = "application/x-amz-json-1.1"
            else:
                body = (f'<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>'
                        '<Message>We encountered an internal error.</Message></Error>'
                        '<RequestId>fault</RequestId></ErrorResponse>')
                content_type = "text/xml"
            return self.respond(start_response, status, content_type, body, [])
        self.counts["passed"] += 1
        return self.app(environ, start_response)

    @staticmethod
    def respond(start_response, status, content_type, body, extra):
        reasons = {400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error",
                   503: "Service Unavailable"}
        data = body.encode()
        start_response(f"{status} {reasons[status]}",
                       [("Content-Type", content_type), ("Content-Length", str(len(data))),
                        ("x-amzn-RequestId", "fault")] + extra)
        return [data]


def serve(host: str, port: int, faults: tuple = None, enforcing: bool = False) -> int:
    """Serves moto on `host`:`port` (0: a free port the kernel picks) and prints
    `plinth-emulator listening on http://HOST:PORT` on stdout once the socket is bound, so that a
    caller never races another process for the port. `faults` is (throttle share, error share,
    seed) for fault mode."""
    import os

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    served = Faults(app, *faults) if faults else app
    if enforcing:
        from enforce import Authorizations

        served = Authorizations(served)
    server = make_server(host, port, served, threaded=True, request_handler=MotoRequestHandler)
    os.environ["MOTO_PORT"] = str(server.port)
    print(f"plinth-emulator listening on http://{host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list) -> int:
    import argparse
    import os

    env = os.environ.get
    parser = argparse.ArgumentParser(description="moto 5.2.5 with plinth's fidelity patches")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=0, help="0 (the default): a free port")
    parser.add_argument("--plain", action="store_true", help="serve moto without the patches")
    parser.add_argument("--without", action="append", default=[], metavar="PATCH",
                        help="apply every patch but this one (repeatable); for the patches' own tests")
    parser.add_argument("--stack-seconds", type=float, default=float(env("PLINTH_EMULATOR_STACK_SECONDS", "0")),
                        help="asynchronous mode: how long a stack operation stays in progress "
                             "(env PLINTH_EMULATOR_STACK_SECONDS; 0, the default, is off)")
    parser.add_argument("--key-stack-seconds", type=float, default=None,
                        help="the same for stacks that hold a KMS key (env PLINTH_EMULATOR_KEY_STACK_SECONDS; "
                             "default twice --stack-seconds)")
    parser.add_argument("--iam-propagation-seconds", type=float,
                        default=float(env("PLINTH_EMULATOR_IAM_PROPAGATION_SECONDS", "0")),
                        help="propagation mode: for how long after CreateRole a role is not yet a valid "
                             "principal in bucket, key and trust policies "
                             "(env PLINTH_EMULATOR_IAM_PROPAGATION_SECONDS; 0, the default, is off)")
    parser.add_argument("--stack-set-seconds", type=float,
                        default=float(env("PLINTH_EMULATOR_STACK_SET_SECONDS", "1")),
                        help="how long a StackSet operation runs before it ends "
                             "(env PLINTH_EMULATOR_STACK_SET_SECONDS; default 1)")
    parser.add_argument("--throttle-share", type=float, default=float(env("PLINTH_EMULATOR_THROTTLE_SHARE", "0")),
                        help="fault mode: the share of requests answered with throttling (env PLINTH_EMULATOR_THROTTLE_SHARE)")
    parser.add_argument("--error-share", type=float, default=float(env("PLINTH_EMULATOR_ERROR_SHARE", "0")),
                        help="fault mode: the share answered with 500 or 503 (env PLINTH_EMULATOR_ERROR_SHARE)")
    parser.add_argument("--seed", type=int, default=int(env("PLINTH_EMULATOR_SEED", "1")),
                        help="the seed of fault mode's draws (env PLINTH_EMULATOR_SEED)")
    parser.add_argument("--enforce-iam", action="store_true",
                        help="enforcing mode: every request is authorized against its caller's IAM policies "
                             "(tools/emulator/enforce.py)")
    parser.add_argument("--operator-policies", metavar="FILE",
                        help="enforcing mode: the output of `plinth policy --json`, whose documents become "
                             "the inline policies of each account's plinth-operator role")
    args = parser.parse_args(argv)
    if not args.plain:
        apply_patches(tuple(args.without))
    _IAM_PROPAGATION_SECONDS[0] = args.iam_propagation_seconds
    _STACK_SET_SECONDS[0] = args.stack_set_seconds
    if args.stack_seconds > 0:
        key_seconds = args.key_stack_seconds
        if key_seconds is None:
            key_seconds = float(env("PLINTH_EMULATOR_KEY_STACK_SECONDS", str(2 * args.stack_seconds)))
        enable_async_stacks(args.stack_seconds, key_seconds)
    faults = None
    if args.throttle_share > 0 or args.error_share > 0:
        faults = (args.throttle_share, args.error_share, args.seed)
    if args.enforce_iam:
        import json

        import enforce

        printed = {}
        if args.operator_policies:
            with open(args.operator_policies) as file:
                printed = json.load(file)
        enforce.enable(enforce.operator_policies_from(printed), tuple(args.without))
    return serve(args.host, args.port, faults, args.enforce_iam)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
