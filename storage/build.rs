//! `sqlx::migrate!` embeds the migrations when this crate compiles, and cargo
//! does not watch files a macro reads: without this, a new or edited
//! migration is left out of an incremental build until the crate's own
//! sources change.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
