//! credd
