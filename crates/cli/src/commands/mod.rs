pub mod image;
pub mod images;
pub mod login;
pub mod sync;
