//! `/api/v1/trusted-certificate-profiles` over HTTP: certificate inspection,
//! validation, reads, keyset pagination, optimistic concurrency and the
//! references SCEP profiles hold on their root.

use crate::helpers::*;
use reqwest::{header, Method};
use scepter_blackbox_tests::{assert_validation_error, backend_tests, json, problem, Backend, TestApp};
use serde_json::{json, Value};

fn item_path(id: &str) -> String {
    format!("{TRUSTED}/{id}")
}

fn with_certificate(platform: &str, certificate: &str) -> Value {
    with(
        trusted_body(platform),
        json!({ "trustedRootCertificate": certificate }),
    )
}

/// POSTs a body that must be rejected with `field`/`rule`, and checks that nothing was stored.
async fn assert_create_rejected(app: &TestApp, body: &Value, field: &str, rule: &str) {
    assert_validation_error(app.post(TRUSTED, body).await, field, rule).await;
    assert_empty(app, TRUSTED).await;
}

async fn create_with_certificate(app: &TestApp, certificate: &str) -> Value {
    create(app, TRUSTED, &with_certificate("android", certificate)).await
}

// ---------------------------------------------------------------- create

async fn create_from_pem_returns_201_with_location_and_etag_1(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.post(TRUSTED, &trusted_body("android")).await;

    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(etag(&response), "\"1\"");
    let location = header_value(&response, header::LOCATION.as_str());
    let created = json(response).await;
    assert_eq!(location, item_path(&id_of(&created)));
    assert_eq!(created["version"], 1);
    assert_eq!(created["displayName"], "Contoso Root CA (android)");
    assert_eq!(created["platform"], "android");
    assert_eq!(created["description"], "");
    assert_eq!(created["certFileName"], Value::Null);
    assert_eq!(created["createdDateTime"], created["lastModifiedDateTime"]);
}

async fn create_reports_the_certificate_details(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create(&app, TRUSTED, &trusted_body("android")).await;

    let details = &created["certificateDetails"];
    let subject = details["subject"].as_str().expect("subject");
    assert!(subject.contains("CN=Scepter Test Root CA"), "{subject}");
    assert_eq!(details["issuer"], details["subject"]);
    assert_eq!(details["thumbprintSha1"], ROOT_CA_SHA1);
    assert_eq!(details["serialNumber"], "5C3E7A10");
    assert_eq!(details["notBefore"], "2026-11-25T12:35:38Z");
    assert_eq!(details["notAfter"], "2126-11-01T12:35:38Z");
}

async fn create_returns_the_certificate_as_base64_der(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create(&app, TRUSTED, &trusted_body("android")).await;

    assert_eq!(created["trustedRootCertificate"], pem_to_base64_der(ROOT_CA));
}

async fn create_from_base64_der_is_accepted_as_the_same_certificate(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create_with_certificate(&app, &pem_to_base64_der(ROOT_CA)).await;

    assert_eq!(created["certificateDetails"]["thumbprintSha1"], ROOT_CA_SHA1);
    assert_eq!(created["trustedRootCertificate"], pem_to_base64_der(ROOT_CA));
}

async fn create_with_a_self_signed_valid_root_has_no_warnings(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create(&app, TRUSTED, &trusted_body("android")).await;

    assert_eq!(created["warnings"], json!([]));
}

async fn create_with_an_expired_root_is_accepted_with_an_expired_warning(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create_with_certificate(&app, EXPIRED_ROOT_CA).await;

    assert_eq!(
        created["warnings"],
        json!(["certificate expired on 2021-01-01T00:00:00Z"])
    );
}

async fn create_with_an_intermediate_is_accepted_with_a_not_self_signed_warning(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create_with_certificate(&app, INTERMEDIATE_CA).await;

    let warnings = created["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|warning| warning.starts_with("certificate is not self-signed")),
        "{warnings:?}"
    );
    assert_eq!(created["certificateDetails"]["serialNumber"], "008A11");
}

async fn create_with_a_leaf_certificate_is_rejected_as_not_a_ca(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = with_certificate("android", LEAF);

    assert_create_rejected(&app, &body, "trustedRootCertificate", "caCertificate").await;
}

async fn create_with_garbage_instead_of_a_certificate_is_rejected_as_bad_encoding(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = with_certificate("android", "not a certificate");

    assert_create_rejected(&app, &body, "trustedRootCertificate", "certificateEncoding").await;
}

async fn create_with_junk_after_the_pem_block_is_rejected_as_trailing_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = with_certificate("android", &format!("{ROOT_CA}junk after the certificate\n"));

    assert_create_rejected(&app, &body, "trustedRootCertificate", "trailingData").await;
}

async fn create_with_blank_display_name_is_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = with(trusted_body("android"), json!({ "displayName": "  " }));

    assert_create_rejected(&app, &body, "displayName", "required").await;
}

async fn create_reports_every_broken_rule_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({
        "displayName": "",
        "platform": "ios",
        "trustedRootCertificate": LEAF,
        "destinationStore": "computerCertStoreRoot",
    });

    let response = app.post(TRUSTED, &body).await;

    let document = problem(response, 422).await;
    assert_eq!(rules_for(&document, "displayName"), ["required"]);
    assert_eq!(rules_for(&document, "trustedRootCertificate"), ["caCertificate"]);
    assert_eq!(rules_for(&document, "destinationStore"), ["windowsOnly"]);
    assert_empty(&app, TRUSTED).await;
}

async fn destination_store_defaults_to_computer_root_store_on_windows10(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create(&app, TRUSTED, &trusted_body("windows10")).await;

    assert_eq!(created["destinationStore"], "computerCertStoreRoot");
}

async fn destination_store_chosen_on_windows_is_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = with(
        trusted_body("windows10"),
        json!({ "destinationStore": "userCertStoreIntermediate" }),
    );

    let created = create(&app, TRUSTED, &body).await;

    assert_eq!(created["destinationStore"], "userCertStoreIntermediate");
}

async fn destination_store_is_null_outside_windows(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let created = create(&app, TRUSTED, &trusted_body("macos")).await;

    assert_eq!(created["destinationStore"], Value::Null);
}

async fn destination_store_on_ios_is_rejected_as_windows_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = with(
        trusted_body("ios"),
        json!({ "destinationStore": "computerCertStoreRoot" }),
    );

    assert_create_rejected(&app, &body, "destinationStore", "windowsOnly").await;
}

async fn display_name_of_200_non_ascii_characters_is_accepted_and_round_trips(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let name = "é".repeat(200);

    let created = create(
        &app,
        TRUSTED,
        &with(trusted_body("android"), json!({ "displayName": name })),
    )
    .await;

    assert_eq!(created["displayName"], name.as_str());
    assert_eq!(
        read(&app, &item_path(&id_of(&created))).await["displayName"],
        name.as_str()
    );
}

async fn display_name_of_201_characters_is_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = with(trusted_body("android"), json!({ "displayName": "n".repeat(201) }));

    assert_create_rejected(&app, &body, "displayName", "maxLength").await;
}

async fn cert_file_name_with_a_path_is_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = with(trusted_body("macos"), json!({ "certFileName": "../root.cer" }));

    assert_create_rejected(&app, &body, "certFileName", "fileName").await;
}

async fn multi_line_non_ascii_description_and_file_name_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let description = "Zertifikat für Geräte\n\tzweite Zeile — 証明書";
    let body = with(
        trusted_body("macos"),
        json!({ "description": description, "certFileName": "contoso-root.cer" }),
    );

    let created = create(&app, TRUSTED, &body).await;

    let stored = read(&app, &item_path(&id_of(&created))).await;
    assert_eq!(stored["description"], description);
    assert_eq!(stored["certFileName"], "contoso-root.cer");
}

async fn description_with_a_nul_character_is_never_a_server_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let description = "before\u{0}after";

    let response = app
        .post(
            TRUSTED,
            &with(trusted_body("android"), json!({ "description": description })),
        )
        .await;

    // The description allows control characters; whether NUL is accepted or
    // refused, it is the client's input and must not fail the server.
    let status = response.status().as_u16();
    let body = json(response).await;
    match status {
        201 => assert_eq!(
            read(&app, &item_path(&id_of(&body))).await["description"],
            description
        ),
        422 => assert_empty(&app, TRUSTED).await,
        other => panic!("expected 201 or 422, got {other}: {body}"),
    }
}

// ---------------------------------------------------------------- read

async fn get_returns_200_with_etag_and_the_created_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = create(&app, TRUSTED, &trusted_body("ios")).await;

    let response = app.get(&item_path(&id_of(&created))).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"1\"");
    assert_eq!(json(response).await, created);
}

async fn get_unknown_id_is_404_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get(&item_path(&uuid::Uuid::new_v4().to_string())).await;

    let document = problem(response, 404).await;
    assert_eq!(document["type"], "urn:scepter:problem:not-found");
}

async fn get_malformed_id_is_404_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get(&item_path("not-a-uuid")).await;

    let document = problem(response, 404).await;
    assert_eq!(document["type"], "urn:scepter:problem:not-found");
}

// ---------------------------------------------------------------- list

async fn list_of_an_empty_store_is_empty_without_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let page = read(&app, TRUSTED).await;

    assert_eq!(page, json!({ "items": [], "nextCursor": null }));
}

async fn list_filters_by_platform(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ios = create_trusted(&app, "ios").await;
    create_trusted(&app, "android").await;
    let ios_again = create_trusted(&app, "ios").await;
    create_trusted(&app, "windows10").await;

    let ids = list_ids(&app, &format!("{TRUSTED}?platform=ios")).await;

    assert_eq!(ids, [ios, ios_again]);
}

async fn list_pages_with_a_cursor_in_creation_order_without_duplicates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create_trusted(&app, "android").await);
    }

    let mut pages = Vec::new();
    let mut path = format!("{TRUSTED}?limit=2");
    loop {
        let page = read(&app, &path).await;
        pages.push(item_ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{TRUSTED}?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages.len() < 10, "pagination does not end");
    }

    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(pages.concat(), created);
}

async fn list_page_that_ends_exactly_at_the_last_item_has_no_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = create_trusted(&app, "android").await;
    let second = create_trusted(&app, "android").await;

    let page = read(&app, &format!("{TRUSTED}?limit=2")).await;

    assert_eq!(item_ids(&page), [first, second]);
    assert_eq!(page["nextCursor"], Value::Null);
}

async fn list_pagination_combines_with_the_platform_filter(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = create_trusted(&app, "macos").await;
    create_trusted(&app, "android").await;
    let second = create_trusted(&app, "macos").await;

    let page1 = read(&app, &format!("{TRUSTED}?platform=macos&limit=1")).await;
    let cursor = page1["nextCursor"].as_str().expect("a second page");
    let page2 = read(&app, &format!("{TRUSTED}?platform=macos&limit=1&cursor={cursor}")).await;

    assert_eq!(item_ids(&page1), [first]);
    assert_eq!(item_ids(&page2), [second]);
    assert_eq!(page2["nextCursor"], Value::Null);
}

async fn list_cursor_stays_valid_after_the_last_item_of_its_page_is_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_trusted(&app, "android").await;
    let second = create_trusted(&app, "android").await;
    let third = create_trusted(&app, "android").await;
    let page1 = read(&app, &format!("{TRUSTED}?limit=2")).await;
    let cursor = page1["nextCursor"].as_str().expect("a second page").to_owned();
    assert_eq!(app.delete(&item_path(&second)).await.status().as_u16(), 204);

    let ids = list_ids(&app, &format!("{TRUSTED}?limit=2&cursor={cursor}")).await;

    assert_eq!(ids, [third]);
}

async fn list_accepts_limits_1_and_500(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_trusted(&app, "android").await;

    for limit in [1, 500] {
        let ids = list_ids(&app, &format!("{TRUSTED}?limit={limit}")).await;
        assert_eq!(ids.len(), 1, "limit={limit}");
    }
}

async fn list_limit_outside_1_to_500_is_rejected_with_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for limit in [0, 501, -1] {
        let response = app.get(&format!("{TRUSTED}?limit={limit}")).await;
        assert_validation_error(response, "limit", "range").await;
    }
}

async fn list_non_numeric_limit_is_400_malformed_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get(&format!("{TRUSTED}?limit=ten")).await;

    let document = problem(response, 400).await;
    assert_eq!(document["type"], "urn:scepter:problem:malformed-request");
}

async fn list_with_a_cursor_not_issued_by_the_api_is_rejected_with_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for cursor in ["not-a-cursor", "AAAA", ""] {
        let response = app.get(&format!("{TRUSTED}?cursor={cursor}")).await;
        assert_validation_error(response, "cursor", "cursor").await;
    }
}

async fn list_with_unknown_platform_is_rejected_with_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get(&format!("{TRUSTED}?platform=linux")).await;

    assert_validation_error(response, "platform", "oneOf").await;
}

// ---------------------------------------------------------------- update

fn renamed(platform: &str) -> Value {
    with(
        trusted_body(platform),
        json!({ "displayName": "Renamed Root CA" }),
    )
}

async fn update_with_current_etag_returns_200_and_version_2(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = create(&app, TRUSTED, &trusted_body("android")).await;
    let path = item_path(&id_of(&created));

    let response = app.put(&path, 1, &renamed("android")).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"2\"");
    let updated = json(response).await;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["displayName"], "Renamed Root CA");
    assert_eq!(updated["createdDateTime"], created["createdDateTime"]);
    assert!(
        timestamp(&updated, "lastModifiedDateTime") > timestamp(&created, "lastModifiedDateTime"),
        "{created} -> {updated}"
    );
}

async fn update_can_replace_the_certificate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);

    let response = app
        .put(&path, 1, &with_certificate("android", INTERMEDIATE_CA))
        .await;

    let updated = expect_json(response, 200).await;
    assert_eq!(
        updated["trustedRootCertificate"],
        pem_to_base64_der(INTERMEDIATE_CA)
    );
    assert_ne!(updated["certificateDetails"]["thumbprintSha1"], ROOT_CA_SHA1);
    assert_eq!(updated["warnings"].as_array().map(Vec::len), Some(1));
}

async fn update_is_visible_to_later_reads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);
    let updated = expect_json(app.put(&path, 1, &renamed("android")).await, 200).await;

    let response = app.get(&path).await;

    assert_eq!(etag(&response), "\"2\"");
    assert_eq!(json(response).await, updated);
}

async fn update_with_stale_etag_is_rejected_with_412_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);
    expect_json(app.put(&path, 1, &renamed("android")).await, 200).await;
    let before = read(&app, &path).await;

    let response = app
        .put(
            &path,
            1,
            &with(trusted_body("android"), json!({ "displayName": "Lost update" })),
        )
        .await;

    let document = problem(response, 412).await;
    assert_eq!(document["type"], "urn:scepter:problem:precondition-failed");
    assert_eq!(read(&app, &path).await, before);
}

async fn update_without_if_match_is_rejected_with_428_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);
    let before = read(&app, &path).await;

    let response = app
        .admin(Method::PUT, &path)
        .json(&renamed("android"))
        .send()
        .await
        .expect("request");

    let document = problem(response, 428).await;
    assert_eq!(document["type"], "urn:scepter:problem:precondition-required");
    assert_eq!(read(&app, &path).await, before);
}

async fn update_with_if_match_wildcard_succeeds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);

    let response = app
        .admin(Method::PUT, &path)
        .header(header::IF_MATCH, "*")
        .json(&renamed("android"))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(etag(&response), "\"2\"");
}

async fn update_with_a_weak_etag_is_rejected_with_412(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);
    let before = read(&app, &path).await;

    let response = app
        .admin(Method::PUT, &path)
        .header(header::IF_MATCH, "W/\"1\"")
        .json(&renamed("android"))
        .send()
        .await
        .expect("request");

    problem(response, 412).await;
    assert_eq!(read(&app, &path).await, before);
}

async fn update_with_an_invalid_body_is_rejected_with_422_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);
    let before = read(&app, &path).await;

    let response = app.put(&path, 1, &with_certificate("android", LEAF)).await;

    assert_validation_error(response, "trustedRootCertificate", "caCertificate").await;
    assert_eq!(read(&app, &path).await, before);
}

async fn concurrent_updates_with_the_same_etag_let_exactly_one_win(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);
    let first = with(trusted_body("android"), json!({ "displayName": "First writer" }));
    let second = with(trusted_body("android"), json!({ "displayName": "Second writer" }));

    let (a, b) = tokio::join!(app.put(&path, 1, &first), app.put(&path, 1, &second));

    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let winner = if a.status().as_u16() == 200 {
        "First writer"
    } else {
        "Second writer"
    };
    let stored = read(&app, &path).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["displayName"], winner);
}

async fn update_of_an_unknown_id_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app
        .put(
            &item_path(&uuid::Uuid::new_v4().to_string()),
            1,
            &trusted_body("android"),
        )
        .await;

    problem(response, 404).await;
    assert_empty(&app, TRUSTED).await;
}

async fn update_to_a_platform_a_referencing_scep_profile_cannot_use_is_409_and_changes_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "android").await;
    create_scep(&app, &root, "android").await;
    let path = item_path(&root);
    let before = read(&app, &path).await;

    let response = app.put(&path, 1, &trusted_body("ios")).await;

    let document = problem(response, 409).await;
    assert_eq!(document["type"], "urn:scepter:problem:conflict");
    assert_eq!(read(&app, &path).await, before);
}

async fn update_of_a_referenced_profile_that_keeps_its_platform_succeeds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "windows10").await;
    create_scep(&app, &root, "windows10").await;

    let response = app.put(&item_path(&root), 1, &renamed("windows10")).await;

    let updated = expect_json(response, 200).await;
    assert_eq!(updated["displayName"], "Renamed Root CA");
}

// ---------------------------------------------------------------- delete

async fn delete_returns_204_and_the_profile_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);

    let response = app.delete(&path).await;

    assert_eq!(response.status().as_u16(), 204);
    problem(app.get(&path).await, 404).await;
    assert_empty(&app, TRUSTED).await;
}

async fn delete_with_current_etag_returns_204(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);

    let response = app
        .admin(Method::DELETE, &path)
        .header(header::IF_MATCH, "\"1\"")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 204);
    problem(app.get(&path).await, 404).await;
}

async fn delete_with_stale_etag_is_rejected_with_412_and_keeps_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = item_path(&create_trusted(&app, "android").await);
    expect_json(app.put(&path, 1, &renamed("android")).await, 200).await;
    let before = read(&app, &path).await;

    let response = app
        .admin(Method::DELETE, &path)
        .header(header::IF_MATCH, "\"1\"")
        .send()
        .await
        .expect("request");

    problem(response, 412).await;
    assert_eq!(read(&app, &path).await, before);
}

async fn delete_of_an_unknown_id_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.delete(&item_path(&uuid::Uuid::new_v4().to_string())).await;

    problem(response, 404).await;
}

async fn delete_of_a_malformed_id_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_trusted(&app, "android").await;

    let response = app.delete(&item_path("not-a-uuid")).await;

    problem(response, 404).await;
    assert_eq!(list_ids(&app, TRUSTED).await.len(), 1);
}

async fn delete_while_a_scep_profile_uses_it_is_409_and_keeps_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "ios").await;
    create_scep(&app, &root, "ios").await;
    let path = item_path(&root);
    let before = read(&app, &path).await;

    let response = app.delete(&path).await;

    let document = problem(response, 409).await;
    assert_eq!(document["type"], "urn:scepter:problem:conflict");
    assert_eq!(read(&app, &path).await, before);
}

async fn delete_succeeds_once_the_referencing_scep_profile_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = create_trusted(&app, "ios").await;
    let scep = create_scep(&app, &root, "ios").await;
    assert_eq!(app.delete(&format!("{SCEP}/{scep}")).await.status().as_u16(), 204);

    let response = app.delete(&item_path(&root)).await;

    assert_eq!(response.status().as_u16(), 204);
    assert_empty(&app, TRUSTED).await;
}

backend_tests!(
    create_from_pem_returns_201_with_location_and_etag_1,
    create_reports_the_certificate_details,
    create_returns_the_certificate_as_base64_der,
    create_from_base64_der_is_accepted_as_the_same_certificate,
    create_with_a_self_signed_valid_root_has_no_warnings,
    create_with_an_expired_root_is_accepted_with_an_expired_warning,
    create_with_an_intermediate_is_accepted_with_a_not_self_signed_warning,
    create_with_a_leaf_certificate_is_rejected_as_not_a_ca,
    create_with_garbage_instead_of_a_certificate_is_rejected_as_bad_encoding,
    create_with_junk_after_the_pem_block_is_rejected_as_trailing_data,
    create_with_blank_display_name_is_rejected,
    create_reports_every_broken_rule_at_once,
    display_name_of_200_non_ascii_characters_is_accepted_and_round_trips,
    display_name_of_201_characters_is_rejected,
    cert_file_name_with_a_path_is_rejected,
    multi_line_non_ascii_description_and_file_name_round_trip,
    description_with_a_nul_character_is_never_a_server_error,
    destination_store_defaults_to_computer_root_store_on_windows10,
    destination_store_chosen_on_windows_is_kept,
    destination_store_is_null_outside_windows,
    destination_store_on_ios_is_rejected_as_windows_only,
    get_returns_200_with_etag_and_the_created_profile,
    get_unknown_id_is_404_problem,
    get_malformed_id_is_404_problem,
    list_of_an_empty_store_is_empty_without_cursor,
    list_filters_by_platform,
    list_pages_with_a_cursor_in_creation_order_without_duplicates,
    list_page_that_ends_exactly_at_the_last_item_has_no_cursor,
    list_pagination_combines_with_the_platform_filter,
    list_cursor_stays_valid_after_the_last_item_of_its_page_is_deleted,
    list_accepts_limits_1_and_500,
    list_limit_outside_1_to_500_is_rejected_with_422,
    list_non_numeric_limit_is_400_malformed_request,
    list_with_a_cursor_not_issued_by_the_api_is_rejected_with_422,
    list_with_unknown_platform_is_rejected_with_422,
    update_with_current_etag_returns_200_and_version_2,
    update_can_replace_the_certificate,
    update_is_visible_to_later_reads,
    update_with_stale_etag_is_rejected_with_412_and_changes_nothing,
    update_without_if_match_is_rejected_with_428_and_changes_nothing,
    update_with_if_match_wildcard_succeeds,
    update_with_a_weak_etag_is_rejected_with_412,
    update_with_an_invalid_body_is_rejected_with_422_and_changes_nothing,
    concurrent_updates_with_the_same_etag_let_exactly_one_win,
    update_of_an_unknown_id_is_404,
    update_to_a_platform_a_referencing_scep_profile_cannot_use_is_409_and_changes_nothing,
    update_of_a_referenced_profile_that_keeps_its_platform_succeeds,
    delete_returns_204_and_the_profile_is_gone,
    delete_with_current_etag_returns_204,
    delete_with_stale_etag_is_rejected_with_412_and_keeps_the_profile,
    delete_of_an_unknown_id_is_404,
    delete_of_a_malformed_id_is_404,
    delete_while_a_scep_profile_uses_it_is_409_and_keeps_the_profile,
    delete_succeeds_once_the_referencing_scep_profile_is_gone,
);
