//! plinth: a declarative reconciler for the AWS foundation that cross-account, cross-region
//! CodePipelines stand on.
//!
//! The crate follows the data: TOML text becomes a validated [`topology::Topology`]; the
//! topology becomes a [`graph::StackGraph`] of (stack, pass) nodes; each node renders a
//! CloudFormation template ([`templates`]); what AWS holds is read into a
//! [`plan::Deployed`] snapshot ([`aws`]); a pure function turns desired and deployed into a
//! [`plan::Plan`]; the executor ([`apply`]) carries it out and reports events that
//! [`output`] draws. `topology`, `graph`, `templates` and `plan` do no I/O.

pub mod apply;
pub mod aws;
#[cfg(any(test, feature = "test-support"))]
pub mod fixtures;
pub mod graph;
mod layout;
pub mod ops;
pub mod output;
pub mod plan;
pub mod policy;
pub mod templates;
pub mod topology;
