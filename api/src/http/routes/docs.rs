//! The contract, served: `/openapi.json` and a browsable page at `/docs`.
//! The page is one self-contained HTML file (no CDN, no build-time download),
//! so it works on an offline machine.

use std::sync::OnceLock;

use actix_web::{http::header::ContentType, web, HttpResponse};

use crate::http::openapi;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(super::resource("/openapi.json", "GET").route(web::get().to(spec)))
        .service(super::resource("/docs", "GET").route(web::get().to(page)));
}

async fn spec() -> HttpResponse {
    static SPEC: OnceLock<String> = OnceLock::new();
    let body = SPEC.get_or_init(openapi::to_json);
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body.as_str())
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        ))
        .body(include_str!("docs.html"))
}
