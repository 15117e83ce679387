//! CloudFormation through the SDK: stacks listed, described, created, updated and deleted, with
//! their templates, events and resources.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, ResourceToImport, Tag, TemplateStage,
};

use super::super::{
    AwsResult, ChangeSetState, CloudFormation, ImportRequest, StackEvent, StackRequest,
    StackResource, UpdateOutcome,
};
use crate::aws::errors::error;
use crate::plan::{StackStatus, StackSummary};

use super::{is_missing_stack, time};

/// The name of the change set that imports resources into a stack.
const IMPORT_CHANGE_SET: &str = "plinth-import";

pub(super) struct SdkCloudFormation {
    pub(super) client: aws_sdk_cloudformation::Client,
    pub(super) calls: Arc<AtomicU64>,
}

impl SdkCloudFormation {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

fn summary(stack: &aws_sdk_cloudformation::types::Stack) -> StackSummary {
    StackSummary {
        id: stack.stack_id().unwrap_or_default().to_owned(),
        name: stack.stack_name().unwrap_or_default().to_owned(),
        status: StackStatus::parse(stack.stack_status().map_or("", |s| s.as_str())),
        status_reason: stack.stack_status_reason().map(str::to_owned),
        parameters: stack
            .parameters()
            .iter()
            .map(|p| pair(p.parameter_key(), p.parameter_value()))
            .collect(),
        tags: stack
            .tags()
            .iter()
            .map(|t| pair(t.key(), t.value()))
            .collect(),
        outputs: stack
            .outputs()
            .iter()
            .map(|o| pair(o.output_key(), o.output_value()))
            .collect(),
        changed_at: time(stack.last_updated_time().or(stack.creation_time())),
    }
}

fn pair(key: Option<&str>, value: Option<&str>) -> (String, String) {
    (
        key.unwrap_or_default().to_owned(),
        value.unwrap_or_default().to_owned(),
    )
}

/// Sets what CreateStack and UpdateStack share: their builders have the same methods but no
/// common trait.
macro_rules! stack_request {
    ($builder:expr, $request:expr) => {
        $builder
            .stack_name(&$request.name)
            .set_template_body(
                $request
                    .template_url
                    .is_none()
                    .then(|| $request.template_body.clone()),
            )
            .set_template_url($request.template_url.clone())
            .set_parameters(Some(parameters($request)))
            .set_tags(Some(tags($request)))
            .capabilities(Capability::CapabilityNamedIam)
    };
}

fn parameters(request: &StackRequest) -> Vec<Parameter> {
    request
        .parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

fn tags(request: &StackRequest) -> Vec<Tag> {
    request
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

#[async_trait]
impl CloudFormation for SdkCloudFormation {
    async fn list_stacks(&self) -> AwsResult<Vec<StackSummary>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            self.count();
            let page = self
                .client
                .describe_stacks()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| error("DescribeStacks", e))?;
            out.extend(crate::plan::existing(page.stacks().iter().map(summary)));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn describe_stack(&self, name_or_id: &str) -> AwsResult<Option<StackSummary>> {
        self.count();
        match self
            .client
            .describe_stacks()
            .stack_name(name_or_id)
            .send()
            .await
        {
            Ok(page) => Ok(page
                .stacks()
                .first()
                .map(summary)
                .filter(|s| !s.is_deleted())),
            Err(e) => {
                let err = error("DescribeStacks", e);
                if is_missing_stack(&err) {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn get_template(&self, name_or_id: &str) -> AwsResult<String> {
        self.count();
        let out = self
            .client
            .get_template()
            .stack_name(name_or_id)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| error("GetTemplate", e))?;
        Ok(out.template_body().unwrap_or_default().to_owned())
    }

    async fn create_stack(&self, request: &StackRequest) -> AwsResult<String> {
        self.count();
        let out = stack_request!(self.client.create_stack(), request)
            .send()
            .await
            .map_err(|e| error("CreateStack", e))?;
        Ok(out.stack_id().unwrap_or(&request.name).to_owned())
    }

    async fn update_stack(&self, request: &StackRequest) -> AwsResult<UpdateOutcome> {
        self.count();
        let result = stack_request!(self.client.update_stack(), request)
            .send()
            .await;
        match result {
            Ok(_) => Ok(UpdateOutcome::Started),
            Err(e) => {
                let err = error("UpdateStack", e);
                // "ValidationError: No updates are to be performed." means the stack already matches.
                if err.message.contains("No updates are to be performed") {
                    Ok(UpdateOutcome::NoChanges)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn delete_stack(&self, name_or_id: &str) -> AwsResult<()> {
        self.count();
        self.client
            .delete_stack()
            .stack_name(name_or_id)
            .send()
            .await
            .map_err(|e| error("DeleteStack", e))?;
        Ok(())
    }

    async fn continue_update_rollback(&self, name_or_id: &str) -> AwsResult<()> {
        self.count();
        self.client
            .continue_update_rollback()
            .stack_name(name_or_id)
            .send()
            .await
            .map_err(|e| error("ContinueUpdateRollback", e))?;
        Ok(())
    }

    async fn stack_events(&self, name_or_id: &str) -> AwsResult<Vec<StackEvent>> {
        self.count();
        let out = self
            .client
            .describe_stack_events()
            .stack_name(name_or_id)
            .send()
            .await
            .map_err(|e| error("DescribeStackEvents", e))?;
        Ok(out
            .stack_events()
            .iter()
            .map(|e| StackEvent {
                timestamp: time(e.timestamp()),
                logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: e.resource_type().unwrap_or_default().to_owned(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_owned),
            })
            .collect())
    }

    async fn stack_resources(&self, name_or_id: &str) -> AwsResult<Vec<StackResource>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            self.count();
            let page = self
                .client
                .list_stack_resources()
                .stack_name(name_or_id)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| error("ListStackResources", e))?;
            out.extend(
                page.stack_resource_summaries()
                    .iter()
                    .map(|r| StackResource {
                        logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                        physical_id: r.physical_resource_id().map(str::to_owned),
                        resource_type: r.resource_type().unwrap_or_default().to_owned(),
                    }),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
    async fn holding_stack(&self, physical_id: &str) -> AwsResult<Option<String>> {
        self.count();
        match self
            .client
            .describe_stack_resources()
            .physical_resource_id(physical_id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .stack_resources()
                .first()
                .and_then(|r| r.stack_name())
                .map(str::to_owned)),
            Err(e) => {
                let err = error("DescribeStackResources", e);
                // "Stack for X does not exist": no stack holds it.
                if err.code.as_deref() == Some("ValidationError")
                    && err.message.contains("does not exist")
                {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn list_imports(&self, export: &str) -> AwsResult<Vec<String>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            self.count();
            let result = self
                .client
                .list_imports()
                .export_name(export)
                .set_next_token(token)
                .send()
                .await;
            let page = match result {
                Ok(page) => page,
                Err(e) => {
                    let err = error("ListImports", e);
                    // "Export 'X' is not imported by any stack."
                    if err.code.as_deref() == Some("ValidationError")
                        && err.message.contains("is not imported by any stack")
                    {
                        return Ok(out);
                    }
                    return Err(err);
                }
            };
            out.extend(page.imports().iter().cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn create_import_change_set(&self, request: &ImportRequest) -> AwsResult<String> {
        self.count();
        let resources = request
            .resources
            .iter()
            .map(|r| {
                ResourceToImport::builder()
                    .resource_type(&r.resource_type)
                    .logical_resource_id(&r.logical_id)
                    .set_resource_identifier(Some(r.identifier.clone().into_iter().collect()))
                    .build()
            })
            .collect();
        let tags = request
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let out = self
            .client
            .create_change_set()
            .stack_name(&request.name)
            .change_set_name(IMPORT_CHANGE_SET)
            .change_set_type(ChangeSetType::Import)
            .template_body(&request.template_body)
            .set_resources_to_import(Some(resources))
            .set_tags(Some(tags))
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await
            .map_err(|e| error("CreateChangeSet", e))?;
        Ok(out.id().unwrap_or(IMPORT_CHANGE_SET).to_owned())
    }

    async fn change_set_state(&self, id: &str) -> AwsResult<ChangeSetState> {
        self.count();
        let out = self
            .client
            .describe_change_set()
            .change_set_name(id)
            .send()
            .await
            .map_err(|e| error("DescribeChangeSet", e))?;
        Ok(match out.status() {
            Some(ChangeSetStatus::CreateComplete) => ChangeSetState::Ready,
            Some(ChangeSetStatus::Failed | ChangeSetStatus::DeleteFailed) => {
                ChangeSetState::Failed(out.status_reason().unwrap_or("no reason given").to_owned())
            }
            _ => ChangeSetState::Pending,
        })
    }

    async fn execute_change_set(&self, id: &str) -> AwsResult<()> {
        self.count();
        self.client
            .execute_change_set()
            .change_set_name(id)
            .send()
            .await
            .map_err(|e| error("ExecuteChangeSet", e))?;
        Ok(())
    }
}
