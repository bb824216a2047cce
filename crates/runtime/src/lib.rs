//! berth's OCI runtime: creates, starts and tears down containers from an OCI bundle.
