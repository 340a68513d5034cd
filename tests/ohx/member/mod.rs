//! Members of a workspace: the last admin kept, what a removal leaves behind, and the key
//! rotation that moves the workspace key out of reach of whoever loses access.

mod last_admin;
mod remove;
mod rotation;
