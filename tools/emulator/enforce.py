"""Enforcing mode of the emulator (`launcher.py --enforce-iam`): every request is authorized
against its caller's identity policies, as AWS does, so that plinth's printed policies can be
proven sufficient and each of their statements necessary.

moto 5.2.5 can authenticate requests (`INITIAL_NO_AUTH_ACTION_COUNT`) but evaluates far less than
AWS, in ways that matter here:
- every call but S3's is checked against resource `*`, so a statement scoped to ARNs never
  matches and every scoped policy denies everything (`patch_resource_arns`);
- S3's action names are moto's, not IAM's: HeadBucket, GetPublicAccessBlock, and
  encryption/ownership subresources authorized as ListBucket/CreateBucket
  (`patch_s3_action_names`); DeleteObjects is checked on the bucket, not its objects;
- an Allow statement whose condition fails is an explicit deny (`patch_statement_evaluation`);
- CloudFormation creates, updates and deletes resources with no check at all: in AWS it acts
  with the caller's credentials (no service role is passed), so the caller needs each resource
  handler's permissions, `iam:PassRole` included (`patch_cloudformation_as_caller`).
Each is made faithful here, with a test in test_launcher.py. What stays unevaluated is listed
in tools/emulator/README.md.

Identities: the base keys (`plinth-test`, `plinth-emulator`) belong to an IAM user `plinth` of
account 123456789012 allowed `sts:AssumeRole` only. In every account, `plinth-test` is the
tests' administrator role and `plinth-operator` the role plinth runs as: both are created the
first time a caller assumes them; the operator's inline policies are those `plinth policy --json`
printed for that account (`--operator-policies FILE`), none for an account it does not name.
Every decision is recorded; `GET /plinth-emulator/authorizations` returns them.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import unquote

BASE_ACCOUNT = "123456789012"
BASE_KEYS = ("plinth-test", "plinth-emulator")
ADMIN_ROLE = "plinth-test"
OPERATOR_ROLE = "plinth-operator"

_current = threading.local()
_decisions: list = []
_decisions_lock = threading.Lock()
_operator_policies: dict = {}


def decisions() -> list:
    with _decisions_lock:
        return list(_decisions)


def _record(principal: str, action: str, resources: list, allowed: bool, statements: list) -> None:
    with _decisions_lock:
        _decisions.append({"principal": principal, "action": action, "resources": resources,
                           "allowed": allowed, "statements": statements})


# ---------------------------------------------------------------- policy evaluation

def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    """IAM's wildcard match: `*` any run of characters (slashes included), `?` one character;
    case-sensitive but for the action's service and name, which IAM compares case-insensitively."""
    regex = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, value, re.DOTALL) is not None


def _condition_holds(condition: dict, context: dict) -> bool:
    """The operators plinth's policies use, as IAM evaluates them: a key absent from the request
    makes StringEquals/StringLike false (and their ForAnyValue forms), IfExists forms true."""
    for operator, tests in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        any_value = base.startswith("ForAnyValue:")
        base = base.split(":", 1)[-1]
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                if if_exists:
                    continue
                return False
            actual_values = _as_list(actual)
            expected_values = [str(e) for e in _as_list(expected)]
            if base == "StringEquals":
                hit = [a in expected_values for a in actual_values]
            elif base == "StringLike":
                hit = [any(_matches(e, a) for e in expected_values) for a in actual_values]
            elif base == "StringNotEquals":
                hit = [a not in expected_values for a in actual_values]
            elif base == "Bool":
                hit = [str(a).lower() == expected_values[0].lower() for a in actual_values]
            else:
                raise ValueError(f"the emulator does not evaluate condition operator {operator}")
            if not (any(hit) if any_value else all(hit)):
                return False
    return True


def _statement_applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    if "NotAction" in statement:
        if any(_matches(a.lower(), action.lower()) for a in _as_list(statement["NotAction"])):
            return False
    elif not any(_matches(a.lower(), action.lower()) for a in _as_list(statement.get("Action", []))):
        return False
    if "NotResource" in statement:
        if any(_matches(r, resource) for r in _as_list(statement["NotResource"])):
            return False
    elif not any(_matches(r, resource) for r in _as_list(statement.get("Resource", []))):
        return False
    return _condition_holds(statement.get("Condition", {}), context)


def evaluate(policies: list, action: str, resources: list, context: dict):
    """(allowed, the statements that allow it) for `action` on every one of `resources`:
    an explicit deny wins; each resource needs an allow."""
    allowing = []
    for resource in resources:
        allowed_here = False
        for name, document in policies:
            for index, statement in enumerate(_as_list(document.get("Statement", []))):
                if not _statement_applies(statement, action, resource, context):
                    continue
                if statement.get("Effect") == "Deny":
                    return False, []
                allowed_here = True
                label = f"{name}/{statement.get('Sid', index)}"
                if label not in allowing:
                    allowing.append(label)
        if not allowed_here:
            return False, []
    return True, allowing


def _policies(access_key) -> list:
    """(name, document) of every identity policy of the caller."""
    from moto.iam.access_control import AssumedRoleAccessKey

    backend = access_key.backend
    out = []
    if isinstance(access_key, AssumedRoleAccessKey):
        role = access_key._owner_role_name
        try:
            names = backend.list_role_policies(role)
        except Exception:
            return []
        for name in names:
            _, document = backend.get_role_policy(role, name)
            out.append((name, _document(document)))
        attached, _ = backend.list_attached_role_policies(role)
    else:
        user = access_key._owner_user_name
        for name in backend.list_user_policies(user):
            out.append((name, _document(backend.get_user_policy(user, name)["policy_document"])))
        attached, _ = backend.list_attached_user_policies(user)
    for policy in attached:
        version = next(v for v in policy.versions if v.is_default)
        out.append((policy.name, _document(version.document)))
    return out


def _document(value) -> dict:
    if isinstance(value, dict):
        return value
    return json.loads(unquote(value) if value.lstrip().startswith("%") else value)


def _denied_message(principal: str, action: str, resource: str) -> str:
    return (f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action")


# ---------------------------------------------------------------- resource ARNs of requests

def _param(response, name: str):
    value = response.querystring.get(name) if hasattr(response, "querystring") else None
    if value:
        return value[0]
    body = getattr(response, "body", None)
    if body:
        try:
            data = json.loads(body if isinstance(body, str) else body.decode())
        except (ValueError, UnicodeDecodeError):
            return None
        return data.get(name)
    return None


def _cloudformation_resources(response, action: str, region: str, account: str) -> list:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account][region]
    stack = _param(response, "StackName")
    stack_set = _param(response, "StackSetName")
    change_set = _param(response, "ChangeSetName")
    out = []
    if stack_set:
        if stack_set.startswith("arn:"):
            out.append(stack_set)
        else:
            found = backend.stacksets.get(stack_set) if hasattr(backend, "stacksets") else None
            stack_set_id = getattr(found, "id", None) or "*"
            tail = stack_set_id.split(":")[-1] if ":" in stack_set_id else stack_set_id
            out.append(f"arn:aws:cloudformation:{region}:{account}:stackset/{stack_set}:{tail}")
        return out
    if action in ("DescribeStacks", "ListStacks", "DescribeStackResources") and not stack:
        return ["*"]
    if change_set and change_set.startswith("arn:"):
        out.append(change_set)
        if not stack:
            found = next((c for c in backend.change_sets.values() if c.change_set_id == change_set), None)
            stack = getattr(found, "stack_id", None)
    elif change_set:
        out.append(f"arn:aws:cloudformation:{region}:{account}:changeSet/{change_set}/*")
    if stack:
        if stack.startswith("arn:"):
            out.append(stack)
        else:
            live = next((s for s in backend.stacks.values() if s.name == stack), None)
            out.append(live.stack_id if live else f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/*")
    return out or ["*"]


def _kms_key_arn(region: str, account: str, key_id: str) -> str:
    from moto.kms.models import kms_backends

    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    backend = kms_backends[account][region]
    try:
        resolved = backend.any_id_to_key_id(key_id)
    except Exception:
        resolved = key_id
    if resolved.startswith("alias/") or ":alias/" in resolved:
        return f"arn:aws:kms:{region}:{account}:key/*"
    return f"arn:aws:kms:{region}:{account}:key/{resolved}"


def _kms_resources(response, action: str, region: str, account: str) -> list:
    if action in ("CreateKey", "ListKeys", "ListAliases"):
        return ["*"]
    alias = _param(response, "AliasName")
    if alias:
        out = [f"arn:aws:kms:{region}:{account}:{alias}"]
        target = _param(response, "TargetKeyId")
        if target:
            out.append(_kms_key_arn(region, account, target))
        else:
            out.append(_kms_key_arn(region, account, alias))
        return out
    key_id = _param(response, "KeyId")
    return [_kms_key_arn(region, account, key_id)] if key_id else ["*"]


def _lambda_resources(response, region: str, account: str) -> list:
    match = re.search(r"/functions/([^/]+)", response.path or "")
    name = unquote(match.group(1)) if match else _param(response, "FunctionName")
    if not name:
        return ["*"]
    if name.startswith("arn:"):
        return [name]
    return [f"arn:aws:lambda:{region}:{account}:function:{name}"]


def _logs_resources(response, action: str, region: str, account: str) -> list:
    name = _param(response, "logGroupName")
    if action == "DescribeLogGroups" or not name:
        return [f"arn:aws:logs:{region}:{account}:log-group:*"]
    return [f"arn:aws:logs:{region}:{account}:log-group:{name}:*"]


def _codepipeline_resources(response, region: str, account: str) -> list:
    name = _param(response, "name")
    pipeline = _param(response, "pipeline")
    if not name and isinstance(pipeline, dict):
        name = pipeline.get("name")
    return [f"arn:aws:codepipeline:{region}:{account}:{name}"] if name else ["*"]


def _request_resources(response, service: str, action: str, region: str, account: str) -> list:
    if service == "cloudformation":
        return _cloudformation_resources(response, action, region, account)
    if service == "kms":
        return _kms_resources(response, action, region, account)
    if service == "iam":
        role = _param(response, "RoleName")
        return [f"arn:aws:iam::{account}:role/{role}"] if role else ["*"]
    if service == "lambda":
        return _lambda_resources(response, region, account)
    if service == "logs":
        return _logs_resources(response, action, region, account)
    if service == "codepipeline":
        return _codepipeline_resources(response, region, account)
    if service == "sts":
        role = _param(response, "RoleArn")
        return [role] if role else ["*"]
    return ["*"]


def _passed_roles(response, service: str, action: str) -> list:
    """(role ARN, service) pairs a direct call passes, which AWS authorizes as iam:PassRole."""
    if service == "lambda" and action in ("CreateFunction", "UpdateFunctionConfiguration"):
        role = _param(response, "Role")
        return [(role, "lambda.amazonaws.com")] if role else []
    if service == "codepipeline" and action in ("CreatePipeline", "UpdatePipeline"):
        pipeline = _param(response, "pipeline")
        role = pipeline.get("roleArn") if isinstance(pipeline, dict) else None
        return [(role, "codepipeline.amazonaws.com")] if role else []
    return []


# ---------------------------------------------------------------- the patches

def patch_s3_action_names() -> None:
    """S3 subresources authorized as IAM names them (moto: HeadBucket, GetPublicAccessBlock, and
    encryption and ownership controls fell through to ListBucket and CreateBucket)."""
    import moto.s3.responses as s3

    bucket = s3.ACTION_MAP["BUCKET"]
    bucket["HEAD"]["DEFAULT"] = "ListBucket"
    bucket["GET"].update({"encryption": "GetEncryptionConfiguration",
                          "ownershipControls": "GetBucketOwnershipControls",
                          "publicAccessBlock": "GetBucketPublicAccessBlock",
                          "public_access_block": "GetBucketPublicAccessBlock"})
    bucket["PUT"].update({"encryption": "PutEncryptionConfiguration",
                          "ownershipControls": "PutBucketOwnershipControls",
                          "publicAccessBlock": "PutBucketPublicAccessBlock",
                          "public_access_block": "PutBucketPublicAccessBlock"})
    bucket["DELETE"].update({"encryption": "PutEncryptionConfiguration",
                             "ownershipControls": "PutBucketOwnershipControls",
                             "publicAccessBlock": "PutBucketPublicAccessBlock",
                             "public_access_block": "PutBucketPublicAccessBlock"})


def patch_authorization() -> None:
    """Every request (but GetCallerIdentity, which AWS never denies) is authorized against the
    caller's policies on the ARNs it acts on, conditions evaluated, and recorded."""
    from xml.sax.saxutils import escape

    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.iam.access_control import IAMRequest, IAMRequestBase, S3IAMRequest
    from moto.s3.exceptions import S3ClientError

    def check_action_permitted(self, resource: str) -> None:
        if self._action == "sts:GetCallerIdentity":
            return
        request = getattr(_current, "response", None)
        service, action = self._action.split(":", 1)
        account = self.account_id
        if service == "s3":
            resources = [resource]
            if action == "DeleteObject" and "/" not in resource.split(":::", 1)[-1]:
                resources = [resource + "/*"]
        elif request is not None:
            resources = _request_resources(request, service, action, self._region, account)
        else:
            resources = [resource]
        principal = self._access_key.arn
        _current.caller = (self._access_key, account)
        policies = _policies(self._access_key)
        allowed, statements = evaluate(policies, self._action, resources, {})
        _record(principal, self._action, resources, allowed, statements)
        if not allowed:
            self._plinth_denied = (principal, self._action, resources[0])
            self._raise_access_denied()
        if request is not None:
            for role, to_service in _passed_roles(request, service, action):
                passed, statements = evaluate(policies, "iam:PassRole", [role],
                                              {"iam:PassedToService": to_service})
                _record(principal, "iam:PassRole", [role], passed, statements)
                if not passed:
                    self._plinth_denied = (principal, "iam:PassRole", role)
                    self._raise_access_denied()

    def denied(self):
        return getattr(self, "_plinth_denied", (self._access_key.arn, self._action, "*"))

    def raise_access_denied(self) -> None:
        principal, action, resource = denied(self)
        message = _denied_message(principal, action, resource)
        if self._service in ("lambda", "kms", "logs", "codepipeline", "organizations"):
            error = JsonRESTError("AccessDeniedException", message)
            error.code = 403
            raise error
        error = AccessDeniedError(user_arn=principal, action=action)
        # the query protocol's form (moto wraps the error in <Errors>, which SDKs do not read)
        error.description = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>denied</RequestId></ErrorResponse>")
        raise error

    def raise_s3_access_denied(self) -> None:
        raise S3ClientError("AccessDenied", _denied_message(*denied(self)))

    IAMRequestBase.check_action_permitted = check_action_permitted
    IAMRequest._raise_access_denied = raise_access_denied
    S3IAMRequest._raise_access_denied = raise_s3_access_denied

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate(self, iam_request_cls, resource="*"):
        _current.response = self
        try:
            return original(self, iam_request_cls, resource)
        finally:
            _current.response = None

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate


# What CloudFormation's handlers call with the caller's credentials, per resource type and
# operation: (action, resource kind, property that makes the call, or None for always).
_HANDLER_CALLS = {
    "AWS::S3::Bucket": {
        "create": [("s3:CreateBucket", "bucket", None),
                   ("s3:PutBucketVersioning", "bucket", "VersioningConfiguration"),
                   ("s3:PutEncryptionConfiguration", "bucket", "BucketEncryption"),
                   ("s3:PutLifecycleConfiguration", "bucket", "LifecycleConfiguration"),
                   ("s3:PutBucketPublicAccessBlock", "bucket", "PublicAccessBlockConfiguration"),
                   ("s3:PutBucketOwnershipControls", "bucket", "OwnershipControls")],
        "update": [("s3:PutBucketVersioning", "bucket", "VersioningConfiguration"),
                   ("s3:PutLifecycleConfiguration", "bucket", "LifecycleConfiguration")],
        "delete": [("s3:DeleteBucket", "bucket", None)],
    },
    "AWS::S3::BucketPolicy": {
        "create": [("s3:PutBucketPolicy", "policy-bucket", None)],
        "update": [("s3:PutBucketPolicy", "policy-bucket", None)],
        "delete": [("s3:DeleteBucketPolicy", "policy-bucket", None)],
    },
    "AWS::KMS::Key": {
        "create": [("kms:CreateKey", "*", None), ("kms:EnableKeyRotation", "key", "EnableKeyRotation")],
        "update": [("kms:PutKeyPolicy", "key", "KeyPolicy")],
        "delete": [("kms:ScheduleKeyDeletion", "key", None)],
    },
    "AWS::KMS::Alias": {
        "create": [("kms:CreateAlias", "alias", None)],
        "update": [("kms:UpdateAlias", "alias", None)],
        "delete": [("kms:DeleteAlias", "alias", None)],
    },
    "AWS::IAM::Role": {
        "create": [("iam:CreateRole", "role", None), ("iam:PutRolePolicy", "role", "Policies"),
                   ("iam:AttachRolePolicy", "role", "ManagedPolicyArns")],
        "update": [("iam:UpdateAssumeRolePolicy", "role", None), ("iam:PutRolePolicy", "role", "Policies")],
        "delete": [("iam:DeleteRole", "role", None), ("iam:DeleteRolePolicy", "role", "Policies")],
    },
    "AWS::Lambda::Function": {
        "create": [("lambda:CreateFunction", "function", None), ("iam:PassRole", "pass:lambda", None)],
        "update": [("lambda:UpdateFunctionConfiguration", "function", None),
                   ("lambda:UpdateFunctionCode", "function", None), ("iam:PassRole", "pass:lambda", None)],
        "delete": [("lambda:DeleteFunction", "function", None)],
    },
    "AWS::Lambda::Version": {
        "create": [("lambda:PublishVersion", "version", None)],
        "delete": [("lambda:DeleteFunction", "version", None)],
    },
    "AWS::Logs::LogGroup": {
        "create": [("logs:CreateLogGroup", "log-group", None),
                   ("logs:PutRetentionPolicy", "log-group", "RetentionInDays")],
        "update": [("logs:PutRetentionPolicy", "log-group", "RetentionInDays")],
        "delete": [("logs:DeleteLogGroup", "log-group", None)],
    },
    "AWS::CodePipeline::Pipeline": {
        "create": [("codepipeline:CreatePipeline", "pipeline", None), ("iam:PassRole", "pass:codepipeline", None)],
        "update": [("codepipeline:UpdatePipeline", "pipeline", None), ("iam:PassRole", "pass:codepipeline", None)],
        "delete": [("codepipeline:DeletePipeline", "pipeline", None)],
    },
}


def _handler_resource(kind: str, properties: dict, physical: str, account: str, region: str):
    """(resource ARN, condition context) of one handler call."""
    if kind == "*":
        return "*", {}
    if kind == "bucket":
        return f"arn:aws:s3:::{properties.get('BucketName') or physical}", {}
    if kind == "policy-bucket":
        return f"arn:aws:s3:::{properties.get('Bucket') or physical}", {}
    if kind == "key":
        return f"arn:aws:kms:{region}:{account}:key/{physical or '*'}", {}
    if kind == "alias":
        return None, {}
    if kind == "role":
        return f"arn:aws:iam::{account}:role/{properties.get('RoleName') or physical}", {}
    if kind == "function":
        name = properties.get("FunctionName") or physical
        return (name if str(name).startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"), {}
    if kind == "version":
        name = properties.get("FunctionName") or physical
        return (name if str(name).startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"), {}
    if kind == "log-group":
        return f"arn:aws:logs:{region}:{account}:log-group:{properties.get('LogGroupName') or physical}:*", {}
    if kind == "pipeline":
        return f"arn:aws:codepipeline:{region}:{account}:{properties.get('Name') or physical}", {}
    if kind.startswith("pass:"):
        role = properties.get("Role") or properties.get("RoleArn")
        return role, {"iam:PassedToService": f"{kind.split(':', 1)[1]}.amazonaws.com"}
    raise ValueError(kind)


def _check_handler(resource_type: str, operation: str, properties: dict, physical, account: str,
                   region: str, resources_map) -> None:
    caller = getattr(_current, "caller", None)
    if caller is None:
        return
    # A service-managed StackSet's instances are made by CloudFormation's own StackSet roles in
    # the member accounts, not with the caller's credentials.
    stack_id = getattr(resources_map, "stack_id", None) or ""
    if "/StackSet-" in stack_id or caller[1] != account:
        return
    access_key, _ = caller
    calls = _HANDLER_CALLS.get(resource_type, {}).get(operation, [])
    if not calls:
        return
    policies = _policies(access_key)
    principal = access_key.arn
    for action, kind, needs in calls:
        if needs is not None and needs not in properties:
            continue
        if kind == "alias":
            alias = properties.get("AliasName") or physical
            target = properties.get("TargetKeyId")
            arns = [f"arn:aws:kms:{region}:{account}:{alias}",
                    _kms_key_arn(region, account, target) if target else f"arn:aws:kms:{region}:{account}:key/*"]
            context = {}
        else:
            arn, context = _handler_resource(kind, properties, physical or "", account, region)
            if arn is None:
                continue
            arns = [arn]
        allowed, statements = evaluate(policies, action, arns, context)
        _record(principal, action, arns, allowed, statements)
        if not allowed:
            service = {"s3": "S3", "kms": "Kms", "iam": "Iam", "lambda": "Lambda", "logs": "CloudWatchLogs",
                       "codepipeline": "CodePipeline"}[action.split(":")[0]]
            message = (f"Resource handler returned message: \"{_denied_message(principal, action, arns[0])} "
                       f"(Service: {service}, Status Code: 403)\" (HandlerErrorCode: AccessDenied)")
            raise HandlerAccessDenied(message)


class HandlerAccessDenied(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def patch_cloudformation_as_caller() -> None:
    """CloudFormation creates, updates and deletes each resource with the caller's credentials
    (plinth passes no service role): a handler call the caller may not make fails the resource
    inside the stack, which rolls back, as in AWS."""
    import moto.cloudformation.parsing as parsing

    def resolved(resource_json, resources_map) -> dict:
        try:
            return parsing.clean_json(resource_json.get("Properties", {}), resources_map) or {}
        except Exception:
            return resource_json.get("Properties", {}) or {}

    def checked(original, operation):
        def run(logical_id, resource_json, resources_map, account_id, region_name, *args, **kwargs):
            properties = resolved(resource_json, resources_map)
            existing = resources_map._parsed_resources.get(logical_id) if operation == "update" else None
            physical = getattr(existing, "physical_resource_id", None)
            if physical is None:
                # the name CloudFormation makes when the template gives none
                stack_name = (resources_map.stack_id or "").split("/")[1] if "/" in (resources_map.stack_id or "") else ""
                physical = f"{stack_name}-{logical_id}-*"
                if resource_json.get("Type") == "AWS::S3::Bucket":
                    physical = physical.lower()
            try:
                _check_handler(resource_json.get("Type", ""), operation, properties, physical, account_id,
                               region_name, resources_map)
            except HandlerAccessDenied as error:
                resources_map._plinth_failed = (logical_id, resource_json.get("Type", ""), error.message)
                raise
            return original(logical_id, resource_json, resources_map, account_id, region_name, *args, **kwargs)
        return run

    parsing.parse_and_create_resource = checked(parsing.parse_and_create_resource, "create")
    parsing.parse_and_update_resource = checked(parsing.parse_and_update_resource, "update")

    original_delete = parsing.ResourceMap._delete_resource

    def delete_resource(self, parsed_resource, resource_json):
        # Names come from the physical id: resolving the properties would make the lazy
        # resource map create again what the delete already removed.
        properties = {name: None for name in resource_json.get("Properties", {}) or {}}
        physical = getattr(parsed_resource, "physical_resource_id", None)
        _check_handler(resource_json.get("Type", ""), "delete", properties, physical, self._account_id,
                       self._region_name, self)
        return original_delete(self, parsed_resource, resource_json)

    parsing.ResourceMap._delete_resource = delete_resource


def setup_identities(operator_policies: dict) -> None:
    """The base user and its keys; roles made the first time they are assumed."""
    from moto.iam.models import iam_backends
    from moto.sts.models import STSBackend

    _operator_policies.update(operator_policies)
    backend = iam_backends[BASE_ACCOUNT]["aws"]
    backend.create_user(region_name="us-east-1", user_name="plinth")
    backend.put_user_policy("plinth", "assume-roles", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AssumeRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    for key_id in BASE_KEYS:
        key = backend.create_access_key("plinth")
        backend.access_keys.pop(key.access_key_id, None)
        key.access_key_id = key_id
        key.secret_access_key = key_id
        backend.access_keys[key_id] = key

    original = STSBackend.assume_role

    def assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs):
        _ensure_role(role_arn)
        return original(self, region_name, role_session_name, role_arn, *args, **kwargs)

    STSBackend.assume_role = assume_role


def _ensure_role(role_arn: str) -> None:
    from moto.iam.models import iam_backends

    match = re.match(r"arn:aws:iam::(\d{12}):role/(.+)$", role_arn or "")
    if not match:
        return
    account, name = match.groups()
    if name not in (ADMIN_ROLE, OPERATOR_ROLE):
        return
    backend = iam_backends[account]["aws"]
    try:
        backend.get_role(name)
        return
    except Exception:
        pass
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{BASE_ACCOUNT}:user/plinth"}}]})
    backend.create_role(role_name=name, assume_role_policy_document=trust, path="/",
                        permissions_boundary=None, description="", tags=[], max_session_duration="3600",
                        linked_service=None)
    if name == ADMIN_ROLE:
        backend.put_role_policy(name, "administrator", json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "Administrator", "Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        return
    for policy_name, document in _operator_policies.get(account, {}).items():
        backend.put_role_policy(name, policy_name, json.dumps(document))


def operator_policies_from(printed: dict) -> dict:
    """account -> {policy name: document} from `plinth policy --json`: `plinth-plan` and
    `plinth-apply` for each identity of a known account."""
    out: dict = {}
    for identity in printed.get("identities", []):
        account = identity["account"]
        if account == "*":
            continue
        policies = out.setdefault(account, {})
        policies["plinth-plan"] = identity["plan"]
        if identity["apply"]["Statement"]:
            policies["plinth-apply"] = identity["apply"]
    return out


class Authorizations:
    """WSGI middleware: `GET /plinth-emulator/authorizations` answers every decision so far."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/plinth-emulator/authorizations":
            body = json.dumps(decisions()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


PATCHES = ("patch_s3_action_names", "patch_authorization", "patch_cloudformation_as_caller")


def enable(operator_policies: dict, without: tuple = ()) -> None:
    """Turns enforcing on, with every patch of this module but those in `without` (for the
    patches' own tests)."""
    from moto import settings

    from moto.iam.access_control import IAMRequestBase

    for name in PATCHES:
        if name not in without:
            globals()[name]()
    # Signatures are not verified: moto recomputes them from its parsed parameters rather than
    # the body as sent, which fails for form-encoded bodies werkzeug has consumed and for REST
    # calls without a body. The access key and session token are still checked.
    IAMRequestBase.check_signature = lambda self: None
    setup_identities(operator_policies)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
