//! Pipelines: their definition, and the call that puts it back or creates a deleted pipeline again.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use super::AwsResult;
use crate::aws::errors::error;
use crate::plan::drift::{ArtifactStore, PipelineAction, PipelineDefinition, Repair, Stage};

use super::{absent, build_error, count, created, not_for};

pub(in crate::aws) async fn read_pipeline(
    client: &aws_sdk_codepipeline::Client,
    calls: &AtomicU64,
    name: &str,
) -> AwsResult<Option<PipelineDefinition>> {
    count(calls);
    let Some(out) = absent(
        "GetPipeline",
        client.get_pipeline().name(name).send().await,
        &["PipelineNotFoundException"],
    )?
    else {
        return Ok(None);
    };
    let Some(p) = out.pipeline() else {
        return Ok(None);
    };
    let store = |s: &aws_sdk_codepipeline::types::ArtifactStore| ArtifactStore {
        bucket: s.location().to_owned(),
        key: s.encryption_key().map(|k| k.id().to_owned()),
    };
    let mut artifact_stores: BTreeMap<String, ArtifactStore> = p
        .artifact_stores()
        .into_iter()
        .flatten()
        .map(|(region, s)| (region.clone(), store(s)))
        .collect();
    if let Some(single) = p.artifact_store() {
        // A pipeline with one store names no region: it is the pipeline's own.
        let region = client
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        artifact_stores.insert(region, store(single));
    }
    let stages = p
        .stages()
        .iter()
        .map(|stage| Stage {
            name: stage.name().to_owned(),
            actions: stage
                .actions()
                .iter()
                .map(|a| {
                    let id = a.action_type_id();
                    PipelineAction {
                        name: a.name().to_owned(),
                        category: id
                            .map(|i| i.category().as_str().to_owned())
                            .unwrap_or_default(),
                        owner: id
                            .map(|i| i.owner().as_str().to_owned())
                            .unwrap_or_default(),
                        provider: id.map(|i| i.provider().to_owned()).unwrap_or_default(),
                        version: id.map(|i| i.version().to_owned()).unwrap_or_default(),
                        configuration: a
                            .configuration()
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        input_artifacts: a
                            .input_artifacts()
                            .iter()
                            .map(|i| i.name().to_owned())
                            .collect(),
                        output_artifacts: a
                            .output_artifacts()
                            .iter()
                            .map(|o| o.name().to_owned())
                            .collect(),
                        role_arn: a.role_arn().map(str::to_owned),
                        region: a.region().map(str::to_owned),
                        run_order: i64::from(a.run_order().unwrap_or(1)),
                        namespace: a.namespace().map(str::to_owned),
                    }
                })
                .collect(),
        })
        .collect();
    let triggers = p
        .triggers()
        .iter()
        .map(|t| {
            let source = t.git_configuration().map_or("", |g| g.source_action_name());
            format!("{} on {source}", t.provider_type().as_str())
        })
        .collect();
    Ok(Some(PipelineDefinition {
        name: p.name().to_owned(),
        role_arn: p.role_arn().to_owned(),
        pipeline_type: p.pipeline_type().map(|t| t.as_str().to_owned()),
        execution_mode: p.execution_mode().map(|m| m.as_str().to_owned()),
        variables: p
            .variables()
            .iter()
            .map(|v| (v.name().to_owned(), v.default_value().map(str::to_owned)))
            .collect(),
        triggers,
        artifact_stores,
        stages,
    }))
}

/// The SDK's declaration of a definition, for `UpdatePipeline`.
fn declaration(
    d: &PipelineDefinition,
) -> Result<
    aws_sdk_codepipeline::types::PipelineDeclaration,
    aws_smithy_types::error::operation::BuildError,
> {
    use aws_sdk_codepipeline::types::{
        ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStoreType,
        EncryptionKey, EncryptionKeyType, ExecutionMode, InputArtifact, OutputArtifact,
        PipelineDeclaration, PipelineType, PipelineVariableDeclaration, StageDeclaration,
    };
    // No triggers: a definition with triggers is never compared, so never repaired.
    let mut pipeline = PipelineDeclaration::builder()
        .name(&d.name)
        .role_arn(&d.role_arn)
        .set_pipeline_type(d.pipeline_type.as_deref().map(PipelineType::from))
        .execution_mode(ExecutionMode::from(
            d.execution_mode
                .as_deref()
                .unwrap_or(crate::plan::drift::DEFAULT_EXECUTION_MODE),
        ));
    for (name, default) in &d.variables {
        pipeline = pipeline.variables(
            PipelineVariableDeclaration::builder()
                .name(name)
                .set_default_value(default.clone())
                .build()?,
        );
    }
    for (region, store) in &d.artifact_stores {
        let key = store
            .key
            .as_ref()
            .map(|id| {
                EncryptionKey::builder()
                    .id(id)
                    .r#type(EncryptionKeyType::Kms)
                    .build()
            })
            .transpose()?;
        let store = aws_sdk_codepipeline::types::ArtifactStore::builder()
            .r#type(ArtifactStoreType::S3)
            .location(&store.bucket)
            .set_encryption_key(key)
            .build()?;
        pipeline = pipeline.artifact_stores(region, store);
    }
    for stage in &d.stages {
        let mut declared = StageDeclaration::builder().name(&stage.name);
        for a in &stage.actions {
            let mut action = ActionDeclaration::builder()
                .name(&a.name)
                .action_type_id(
                    ActionTypeId::builder()
                        .category(ActionCategory::from(a.category.as_str()))
                        .owner(ActionOwner::from(a.owner.as_str()))
                        .provider(&a.provider)
                        .version(&a.version)
                        .build()?,
                )
                .run_order(i32::try_from(a.run_order).unwrap_or(1))
                .set_configuration(
                    (!a.configuration.is_empty())
                        .then(|| a.configuration.clone().into_iter().collect()),
                )
                .set_role_arn(a.role_arn.clone())
                .set_region(a.region.clone())
                .set_namespace(a.namespace.clone());
            for name in &a.input_artifacts {
                action = action.input_artifacts(InputArtifact::builder().name(name).build()?);
            }
            for name in &a.output_artifacts {
                action = action.output_artifacts(OutputArtifact::builder().name(name).build()?);
            }
            declared = declared.actions(action.build()?);
        }
        pipeline = pipeline.stages(declared.build()?);
    }
    pipeline.build()
}

pub(in crate::aws) async fn repair_pipeline(
    client: &aws_sdk_codepipeline::Client,
    calls: &AtomicU64,
    repair: &Repair,
) -> AwsResult<()> {
    let (definition, create) = match repair {
        Repair::UpdatePipeline { definition } => (definition, false),
        Repair::CreatePipeline { definition } => (definition, true),
        other => return Err(not_for("CodePipeline", other)),
    };
    let declaration = declaration(definition).map_err(|e| build_error("UpdatePipeline", &e))?;
    count(calls);
    if create {
        let made = client
            .create_pipeline()
            .pipeline(declaration.clone())
            .send()
            .await
            .map(drop)
            .map_err(|e| error("CreatePipeline", e));
        if created(made, "PipelineNameInUseException")? {
            return Ok(());
        }
        // made by an earlier try of the same repair: put as declared below
        count(calls);
    }
    client
        .update_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .map(drop)
        .map_err(|e| error("UpdatePipeline", e))
}
