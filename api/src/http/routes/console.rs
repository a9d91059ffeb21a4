//! The admin console: static files under `/console/`, embedded in the binary
//! at compile time (`api/build.rs` turns every file of `api/console/` into
//! [`ASSETS`]), so it works on an offline machine with nothing but `scepter serve`.
//!
//! These routes are not API operations and are not in the OpenAPI document.
//! They need no token: the files are the same for everyone and carry no data;
//! the console sends the user's token with each API call it makes.
//!
//! Every response under `/console` (files, redirect and 404s) carries a
//! Content-Security-Policy that allows only same-origin scripts, styles and
//! connections and no framing, so a value from the API that ever reached the
//! page as markup still could not run script or leak data.

use actix_web::{
    http::header::{self, HeaderValue},
    middleware::DefaultHeaders,
    web, HttpResponse,
};

use crate::error::ApiError;

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

/// The policy of every console response: same-origin only, no inline script
/// or style, no plugins, no `<base>`, never inside a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The file served at `/console/`.
pub const INDEX: &str = "index.html";

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/console")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
                    .add((header::REFERRER_POLICY, "no-referrer"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    // Revalidate every time: an upgraded binary must never run
                    // next to modules a browser cached from the previous one.
                    .add((header::CACHE_CONTROL, "no-cache")),
            )
            .service(super::resource("", "GET").route(web::get().to(redirect)))
            .service(super::resource("/", "GET").route(web::get().to(index)))
            .service(super::resource("/{path:.*}", "GET").route(web::get().to(asset))),
    );
}

/// The embedded file at `path` (below `/console/`) and its content type.
/// A lookup in the table, never a file system path: `..` or an encoded
/// separator simply names no entry.
pub fn find(path: &str) -> Option<(&'static [u8], &'static str)> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, bytes, content_type)| (*bytes, *content_type))
}

/// `/console` → `/console/`, so the page's relative module URLs resolve below it.
async fn redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, HeaderValue::from_static("/console/")))
        .finish()
}

async fn index() -> Result<HttpResponse, ApiError> {
    serve(INDEX)
}

async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&path.into_inner())
}

fn serve(path: &str) -> Result<HttpResponse, ApiError> {
    let (bytes, content_type) = find(path).ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(bytes))
}
