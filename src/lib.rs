//! Warden: guards GitOps config repositories.
//!
//! The pure core (no network, no clock, no globals) lives in [`yaml`], [`manifest`] and
//! [`kustomize`]; later layers (checks, diff, report, the GitHub App) build on them.

pub mod agent;
pub mod app;
pub mod chatops;
pub mod checks;

pub mod demo;
pub mod diff;
pub mod github;
pub mod kustomize;
pub mod manifest;
pub mod parallel;
pub mod promote;
pub mod repo;
pub mod report;
pub mod review;
pub mod signal;
pub mod sim;
pub mod store;
pub mod yaml;
