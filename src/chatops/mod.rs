//! ChatOps: `/warden` slash-commands in pull-request comments. See docs/chatops.md.

pub mod parse;
