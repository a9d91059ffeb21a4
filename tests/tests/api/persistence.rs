//! What the application stores survives a restart on the same database.

use crate::helpers::*;
use scepter_blackbox_tests::{backend_tests, json, Backend, TestApp};
use serde_json::json;

/// A windows10 trusted profile and a SCEP profile using it.
struct Stored {
    root_id: String,
    trusted: String,
    scep: String,
}

/// Creates a windows10 trusted profile and a SCEP profile with many settings using it.
async fn create_both(app: &TestApp) -> Stored {
    let root = create_trusted(app, "windows10").await;
    let scep_body = with(
        scep_body(&root, "windows10"),
        json!({
            "description": "Corporate Wi-Fi",
            "certificateValidityPeriodValue": 6,
            "certificateValidityPeriodScale": "months",
            "subjectNameFormat": "custom",
            "subjectNameFormatString": "CN={{UserName}},O=Contoso",
            "customSubjectAlternativeNames": [{ "sanType": "userPrincipalName", "name": "{{UserPrincipalName}}" }],
            "keyUsage": ["keyEncipherment", "digitalSignature"],
            "extendedKeyUsages": [{ "name": "Server Authentication", "objectIdentifier": "1.3.6.1.5.5.7.3.1" }],
            "renewalThresholdPercentage": 15,
        }),
    );
    let scep = id_of(&create(app, SCEP, &scep_body).await);
    Stored {
        trusted: format!("{TRUSTED}/{root}"),
        scep: format!("{SCEP}/{scep}"),
        root_id: root,
    }
}

async fn profiles_are_readable_after_a_restart_with_the_same_body_and_etag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Stored { trusted, scep, .. } = create_both(&app).await;
    expect_json(app.put(&trusted, 1, &trusted_body("windows10")).await, 200).await;
    let trusted_before = read(&app, &trusted).await;
    let scep_before = read(&app, &scep).await;

    let app = app.restart().await;

    let trusted_response = app.get(&trusted).await;
    assert_eq!(trusted_response.status().as_u16(), 200);
    assert_eq!(etag(&trusted_response), "\"2\"");
    assert_eq!(json(trusted_response).await, trusted_before);
    let scep_response = app.get(&scep).await;
    assert_eq!(scep_response.status().as_u16(), 200);
    assert_eq!(etag(&scep_response), "\"1\"");
    assert_eq!(json(scep_response).await, scep_before);
}

async fn lists_are_unchanged_after_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_both(&app).await;
    create_both(&app).await;
    let trusted_before = read(&app, TRUSTED).await;
    let scep_before = read(&app, SCEP).await;

    let app = app.restart().await;

    assert_eq!(read(&app, TRUSTED).await, trusted_before);
    assert_eq!(read(&app, SCEP).await, scep_before);
}

async fn etags_read_before_a_restart_still_allow_updates_after_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Stored {
        root_id,
        trusted,
        scep,
    } = create_both(&app).await;

    let app = app.restart().await;
    let scep_update = app.put(&scep, 1, &scep_body(&root_id, "windows10")).await;
    let renamed = with(
        trusted_body("windows10"),
        json!({ "displayName": "Renamed Root CA" }),
    );
    let trusted_update = app.put(&trusted, 1, &renamed).await;

    assert_eq!(scep_update.status().as_u16(), 200);
    assert_eq!(etag(&scep_update), "\"2\"");
    assert_eq!(trusted_update.status().as_u16(), 200);
    assert_eq!(etag(&trusted_update), "\"2\"");
}

async fn pagination_continues_across_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = create_trusted(&app, "ios").await;

    let app = app.restart().await;
    let second = create_trusted(&app, "ios").await;
    let page1 = read(&app, &format!("{TRUSTED}?limit=1")).await;
    let cursor = page1["nextCursor"].as_str().expect("a second page");
    let page2 = read(&app, &format!("{TRUSTED}?limit=1&cursor={cursor}")).await;

    assert_eq!(item_ids(&page1), [first]);
    assert_eq!(item_ids(&page2), [second]);
    assert_eq!(page2["nextCursor"], serde_json::Value::Null);
}

async fn the_reference_from_scep_to_trusted_profile_survives_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Stored { trusted, .. } = create_both(&app).await;

    let app = app.restart().await;
    let response = app.delete(&trusted).await;

    assert_eq!(response.status().as_u16(), 409);
    read(&app, &trusted).await;
}

backend_tests!(
    profiles_are_readable_after_a_restart_with_the_same_body_and_etag,
    lists_are_unchanged_after_a_restart,
    etags_read_before_a_restart_still_allow_updates_after_it,
    pagination_continues_across_a_restart,
    the_reference_from_scep_to_trusted_profile_survives_a_restart,
);
