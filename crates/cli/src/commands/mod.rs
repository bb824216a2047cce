pub mod image;
pub mod login;
pub mod sync;
