//! GitHub at the edge: typed ids, webhook verification and events (pure), and later the App's
//! authentication and API client.

pub mod ids;
pub mod webhook;
