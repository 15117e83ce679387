//! The CloudFormation resource provider schemas of the resource types plinth's templates use,
//! shipped in `schemas/cloudformation` (copied from the pinned cfn-lint package by
//! `scripts/update-schemas`). plinth reads one thing from them: `createOnlyProperties`, the
//! properties whose change makes CloudFormation replace the resource.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;

const SCHEMAS: &[&str] = &[
    include_str!("../../schemas/cloudformation/aws-s3-bucket.json"),
    include_str!("../../schemas/cloudformation/aws-s3-bucketpolicy.json"),
    include_str!("../../schemas/cloudformation/aws-kms-key.json"),
    include_str!("../../schemas/cloudformation/aws-kms-alias.json"),
    include_str!("../../schemas/cloudformation/aws-iam-role.json"),
    include_str!("../../schemas/cloudformation/aws-lambda-function.json"),
    include_str!("../../schemas/cloudformation/aws-logs-loggroup.json"),
    include_str!("../../schemas/cloudformation/aws-codepipeline-pipeline.json"),
    include_str!("../../schemas/cloudformation/aws-lambda-version.json"),
];

/// The schemas by resource type.
static PARSED: LazyLock<BTreeMap<String, Value>> = LazyLock::new(|| {
    SCHEMAS
        .iter()
        .map(|text| {
            let schema: Value =
                serde_json::from_str(text).expect("a shipped resource schema is JSON");
            let type_name = schema["typeName"]
                .as_str()
                .expect("a resource schema names its type")
                .to_owned();
            (type_name, schema)
        })
        .collect()
});

/// Resource type to the top-level properties whose change replaces the resource.
static CREATE_ONLY: LazyLock<BTreeMap<String, Vec<String>>> = LazyLock::new(|| {
    PARSED
        .iter()
        .map(|(type_name, schema)| {
            let properties = schema["createOnlyProperties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str()?.strip_prefix("/properties/"))
                .map(|p| p.split('/').next().unwrap_or(p).to_owned())
                .collect();
            (type_name.clone(), properties)
        })
        .collect()
});

/// The IAM actions the resource type's `handler` (`create`, `update`, `delete`, `read`) may call
/// with the caller's credentials, as its schema lists them; `None` when plinth ships no schema
/// for the type.
pub(crate) fn handler_permissions(resource_type: &str, handler: &str) -> Option<Vec<String>> {
    let schema = PARSED.get(resource_type)?;
    Some(
        schema["handlers"][handler]["permissions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
    )
}

/// Every resource type plinth ships a schema for.
pub(crate) fn types() -> std::collections::BTreeSet<String> {
    PARSED.keys().cloned().collect()
}

/// Whether changing `property` of a resource of this type replaces the resource; `None` when
/// plinth ships no schema for the type.
pub(crate) fn replaces(resource_type: &str, property: &str) -> Option<bool> {
    CREATE_ONLY
        .get(resource_type)
        .map(|properties| properties.iter().any(|p| p == property))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_schemas_name_what_replaces() {
        assert_eq!(replaces("AWS::S3::Bucket", "BucketName"), Some(true));
        assert_eq!(
            replaces("AWS::S3::Bucket", "VersioningConfiguration"),
            Some(false)
        );
        assert_eq!(replaces("AWS::IAM::Role", "RoleName"), Some(true));
        assert_eq!(replaces("AWS::IAM::Role", "Policies"), Some(false));
        assert_eq!(replaces("AWS::KMS::Alias", "AliasName"), Some(true));
        assert_eq!(replaces("AWS::KMS::Key", "KeyPolicy"), Some(false));
        assert_eq!(replaces("AWS::EC2::Instance", "ImageId"), None);
    }

    #[test]
    fn every_resource_type_plinth_renders_has_a_schema() {
        use std::collections::BTreeSet;
        let topology = crate::fixtures::example();
        let graph = crate::graph::StackGraph::build(&topology, &BTreeSet::new());
        let mut types = BTreeSet::new();
        for node in super::super::render_graph(&topology, &graph) {
            for resource in node.template.body()["Resources"]
                .as_object()
                .unwrap()
                .values()
            {
                types.insert(resource["Type"].as_str().unwrap().to_owned());
            }
        }
        for t in &types {
            assert!(
                CREATE_ONLY.contains_key(t.as_str()),
                "no shipped schema for {t}"
            );
        }
        assert!(types.len() >= 7, "{types:?}");
    }
}
