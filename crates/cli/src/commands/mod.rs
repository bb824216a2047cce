pub mod containers;
pub mod image;
pub mod image_extra;
pub mod images;
pub mod login;
pub mod run;
pub mod sync;
pub mod trust;
