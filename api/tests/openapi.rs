//! The committed contract (`openapi/openapi.json`) must equal the generated one,
//! so generated clients and reviewers always see what the server does.

#[test]
fn committed_openapi_document_matches_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = scepter_api::http::openapi::to_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with:\n\n    \
         cargo run -q --bin scepter -- openapi > openapi/openapi.json\n"
    );
}

#[test]
fn document_is_openapi_3_1_with_bearer_security_on_every_api_operation() {
    let document: serde_json::Value = serde_json::from_str(&scepter_api::http::openapi::to_json()).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = document["paths"].as_object().unwrap();
    let mut api_operations = 0;
    for (path, item) in paths.iter().filter(|(path, _)| path.starts_with("/api/")) {
        for (method, operation) in item.as_object().unwrap() {
            api_operations += 1;
            assert_eq!(
                operation["security"],
                serde_json::json!([{"bearer": []}]),
                "{method} {path}"
            );
            for status in ["401", "500", "503"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} documents {status}"
                );
            }
            if method != "get" {
                assert!(
                    operation["responses"]["403"].is_object(),
                    "{method} {path} documents 403"
                );
            }
        }
    }
    assert_eq!(api_operations, 49);
}

#[test]
fn device_and_connector_operations_name_their_own_security_schemes() {
    let document: serde_json::Value = serde_json::from_str(&scepter_api::http::openapi::to_json()).unwrap();
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["deviceCredential"]["scheme"], "bearer");
    let paths = document["paths"].as_object().unwrap();
    let expect = |prefix: &str, security: serde_json::Value| {
        let mut seen = 0;
        for (path, item) in paths.iter().filter(|(path, _)| path.starts_with(prefix)) {
            for (method, operation) in item.as_object().unwrap() {
                seen += 1;
                assert_eq!(operation["security"], security, "{method} {path}");
                assert!(
                    operation["responses"]["500"].is_object(),
                    "{method} {path} documents 500"
                );
            }
        }
        seen
    };
    assert_eq!(
        expect("/device/", serde_json::json!([{"deviceCredential": []}])),
        2
    );
    assert_eq!(
        expect("/connector/v1/scep/", serde_json::json!([{"bearer": []}])),
        2
    );
    assert_eq!(
        expect("/connector/v1/revocations", serde_json::json!([{"bearer": []}])),
        2
    );
    // step-ca authenticates by the X-Smallstep-Signature HMAC instead.
    assert_eq!(expect("/connector/v1/step-ca/", serde_json::json!([{}])), 2);
}
