//! Request extractors that answer bad input with problem documents: JSON
//! bodies (size-limited, with the failing field's path), query strings
//! (naming the failing parameter), `If-Match`, and the error handler for
//! paths.

use std::pin::Pin;
use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, OnceLock, RwLock},
};

use actix_web::{dev::Payload, error::PathError, http::header, web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use scepter_domain::ValidationErrors;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use super::body_deadline;
pub use crate::service::versioned::IfMatch;
use crate::{error::ApiError, state::AppState};

/// A query string deserialised into `T`, like `web::Query`, but a value
/// that does not parse is a 400 naming its parameter (`web::Query` reports
/// only serde's message, e.g. "invalid digit found in string").
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(request.query_string()).map(Query))
    }
}

/// Parses a query string; the error names the parameter that failed.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let parameter = match field_of(&path, &message).as_str() {
            "body" => String::new(),
            name => format!(" `{name}`"),
        };
        ApiError::Malformed(format!("invalid query parameter{parameter}: {message}"))
    })
}

/// A JSON body deserialised into `T`. Syntax errors are 400; a well-formed
/// document with a wrong type, a missing or an unknown field is 422 naming
/// that field; bodies above the configured limit are 413 before they are read whole.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + ToSchema + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBytes::from_request(request, payload);
        Box::pin(async move { parse_json_body(&body.await?.0).map(ValidJson) })
    }
}

/// The raw bytes of a JSON body, with the same content-type and size checks
/// as [`ValidJson`]: for handlers that must authenticate the exact bytes
/// (webhook signatures) before parsing them with [`parse_json`].
pub struct JsonBytes(pub web::Bytes);

impl FromRequest for JsonBytes {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = request
            .app_data::<web::Data<AppState>>()
            .map_or(AppState::DEFAULT_MAX_BODY_BYTES, |state| state.max_body_bytes);
        Box::pin(read_json_body(request, payload, limit))
    }
}

/// Reads a JSON body of at most `limit` bytes: 415 for another content
/// type, 413 when the declared or the received length is over the limit
/// (before reading, when declared), 408 when the body-read deadline passes.
pub fn read_json_body(
    request: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<JsonBytes, ApiError>> + 'static {
    let content_type_ok = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false);
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let mut payload = payload.take();
    async move {
        if declared_length.is_some_and(|length| length > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        if !content_type_ok {
            return Err(ApiError::UnsupportedMediaType);
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|error| {
                if body_deadline::is_deadline(&error) {
                    ApiError::RequestTimeout
                } else {
                    ApiError::Malformed(format!("could not read the body: {error}"))
                }
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(JsonBytes(body.freeze()))
    }
}

/// Parses a JSON body: syntax errors are 400, schema errors 422 naming the field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                // serde_json appends " at line 1 column 42"; the field path says more.
                let message = inner.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                ApiError::field(field_of(&path, &message), "schema", message)
            }
            _ => ApiError::Malformed(format!("the body is not valid JSON: {inner}")),
        }
    })
}

/// Parses a request body documented as the component schema of `T`: like
/// [`parse_json`], and an array where the schema has an object is 422 too.
///
/// serde's derived `Deserialize` of a struct also accepts the field values as
/// a JSON array in declaration order (serde-rs/serde#1587), so
/// `["jane@contoso.com", "Jane"]` would create a user. The contract documents
/// objects only, and a client relying on field order would break silently when
/// a field is added, so such bodies are rejected, naming each place.
pub fn parse_json_body<T: DeserializeOwned + ToSchema>(body: &[u8]) -> Result<T, ApiError> {
    let value = parse_json::<T>(body)?;
    // Without a `[` there is no array to check (the common case for most bodies).
    if body.contains(&b'[') {
        let document: serde_json::Value = serde_json::from_slice(body)
            .map_err(|error| ApiError::Malformed(format!("the body is not valid JSON: {error}")))?;
        let schemas = schemas_of::<T>();
        if let Some(schema) = schemas.get(T::name().as_ref()) {
            let mut errors = ValidationErrors::new();
            find_positional_objects(&schemas, schema, &document, &mut String::new(), &mut errors);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
        }
    }
    Ok(value)
}

/// Component schemas by name, as JSON.
type Schemas = serde_json::Map<String, serde_json::Value>;

/// `T`'s schema and every component schema it references, by name, as JSON:
/// the part of the OpenAPI document that describes the body. Built once per
/// body type (from its `ToSchema`, so this module needs no OpenAPI document)
/// and kept: request bodies with arrays are common (a check-in report has two).
fn schemas_of<T: ToSchema>() -> Arc<Schemas> {
    static BY_TYPE: OnceLock<RwLock<HashMap<String, Arc<Schemas>>>> = OnceLock::new();
    let by_type = BY_TYPE.get_or_init(RwLock::default);
    let name = T::name();
    if let Some(schemas) = by_type
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(name.as_ref())
    {
        return Arc::clone(schemas);
    }
    let mut schemas = Vec::new();
    T::schemas(&mut schemas);
    schemas.push((name.clone().into_owned(), T::schema()));
    let schemas: Arc<Schemas> = Arc::new(
        schemas
            .into_iter()
            .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
            .collect(),
    );
    by_type
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(name.into_owned(), Arc::clone(&schemas));
    schemas
}

/// Pushes an error for every array in `value` where `schema` admits an object but no array.
fn find_positional_objects(
    schemas: &serde_json::Map<String, serde_json::Value>,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    path: &mut String,
    errors: &mut ValidationErrors,
) {
    let Some(items) = value.as_array() else {
        let Some(members) = value.as_object() else {
            return;
        };
        for (name, member) in members {
            let mut subschemas = Vec::new();
            collect_subschemas(schemas, schema, &mut |schema| {
                if let Some(property) = schema
                    .get("properties")
                    .and_then(|properties| properties.get(name))
                {
                    subschemas.push(property);
                }
            });
            let length = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(name);
            for subschema in subschemas {
                find_positional_objects(schemas, subschema, member, path, errors);
            }
            path.truncate(length);
        }
        return;
    };
    let (mut admits_object, mut admits_array) = (false, false);
    let mut item_schemas = Vec::new();
    collect_subschemas(schemas, schema, &mut |schema| {
        let types: Vec<&str> = match schema.get("type") {
            Some(serde_json::Value::String(kind)) => vec![kind.as_str()],
            Some(serde_json::Value::Array(kinds)) => kinds.iter().filter_map(|kind| kind.as_str()).collect(),
            _ => vec![],
        };
        admits_object |=
            types.contains(&"object") || (types.is_empty() && schema.get("properties").is_some());
        admits_array |= types.contains(&"array") || (types.is_empty() && schema.get("items").is_some());
        if let Some(items) = schema.get("items") {
            item_schemas.push(items);
        }
    });
    if admits_object && !admits_array {
        let field = if path.is_empty() {
            "body".to_owned()
        } else {
            path.clone()
        };
        errors.push(
            field,
            "schema",
            "invalid type: sequence, expected an object with named fields",
        );
        return;
    }
    for (index, item) in items.iter().enumerate() {
        let length = path.len();
        path.push_str(&format!("[{index}]"));
        for item_schema in &item_schemas {
            find_positional_objects(schemas, item_schema, item, path, errors);
        }
        path.truncate(length);
    }
}

/// Calls `visit` with `schema` and every schema it stands for: `$ref`s
/// resolved, `oneOf`/`anyOf`/`allOf` branches expanded.
fn collect_subschemas<'a>(
    schemas: &'a serde_json::Map<String, serde_json::Value>,
    schema: &'a serde_json::Value,
    visit: &mut dyn FnMut(&'a serde_json::Value),
) {
    if let Some(reference) = schema.get("$ref").and_then(|reference| reference.as_str()) {
        if let Some(target) = reference
            .strip_prefix("#/components/schemas/")
            .and_then(|name| schemas.get(name))
        {
            collect_subschemas(schemas, target, visit);
        }
        return;
    }
    visit(schema);
    for combinator in ["oneOf", "anyOf", "allOf"] {
        for branch in schema
            .get(combinator)
            .and_then(|branches| branches.as_array())
            .into_iter()
            .flatten()
        {
            collect_subschemas(schemas, branch, visit);
        }
    }
}

/// The field a data error is about. serde reports a missing field at the
/// object that lacks it, so its name is taken from the message; a type error
/// of the whole document has no field, so it names the body.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (".", None) => "body".to_owned(),
        (path, None) => path.to_owned(),
    }
}

// The precondition is checked by the service's writes (`service::versioned`); it is read here.
impl IfMatch {
    /// The request's `If-Match` header: `Absent` without one, 400 when it is malformed.
    pub fn parse(request: &HttpRequest) -> Result<Self, ApiError> {
        let Some(value) = request.headers().get(header::IF_MATCH) else {
            return Ok(IfMatch::Absent);
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::Malformed("If-Match must be ASCII".to_owned()))?
            .trim();
        if value == "*" {
            return Ok(IfMatch::Any);
        }
        value
            .split(',')
            .map(|tag| {
                let tag = tag.trim();
                if tag.starts_with("W/") {
                    // RFC 9110 §13.1.1: If-Match uses the strong comparison; a weak tag never matches.
                    return Ok(None);
                }
                tag.strip_prefix('"')
                    .and_then(|tag| tag.strip_suffix('"'))
                    .map(|version| version.parse::<i64>().ok())
                    .ok_or_else(|| ApiError::Malformed(format!("If-Match: `{tag}` is not an entity tag")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|versions| IfMatch::Versions(versions.into_iter().flatten().collect()))
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(IfMatch::parse(request))
    }
}

/// The strong entity tag of a resource version.
pub fn etag(version: i64) -> header::EntityTag {
    header::EntityTag::new_strong(version.to_string())
}

/// A path that does not parse (e.g. a malformed UUID) names no resource.
pub fn path_error(error: PathError, _: &HttpRequest) -> actix_web::Error {
    tracing::debug!(%error, "unparseable path");
    ApiError::NotFound.into()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use serde::Deserialize;

    use super::*;

    fn if_match(value: &str) -> Result<IfMatch, ApiError> {
        IfMatch::parse(
            &TestRequest::default()
                .insert_header((header::IF_MATCH, value))
                .to_http_request(),
        )
    }

    #[test]
    fn if_match_accepts_strong_tags_lists_and_star() {
        assert_eq!(if_match("\"3\"").unwrap(), IfMatch::Versions(vec![3]));
        assert_eq!(if_match("\"1\", \"2\"").unwrap(), IfMatch::Versions(vec![1, 2]));
        assert_eq!(if_match("*").unwrap(), IfMatch::Any);
        assert_eq!(
            IfMatch::parse(&TestRequest::default().to_http_request()).unwrap(),
            IfMatch::Absent
        );
    }

    #[test]
    fn weak_and_foreign_tags_never_match() {
        assert_eq!(if_match("W/\"3\"").unwrap(), IfMatch::Versions(vec![]));
        assert_eq!(if_match("\"abc\"").unwrap(), IfMatch::Versions(vec![]));
        assert!(matches!(
            if_match("W/\"3\"").unwrap().expect(3),
            Err(ApiError::PreconditionFailed { current: 3 })
        ));
    }

    #[test]
    fn unquoted_tags_are_malformed() {
        assert!(matches!(if_match("3"), Err(ApiError::Malformed(_))));
    }

    #[test]
    fn expectation_follows_the_current_version() {
        assert_eq!(IfMatch::Any.expect(4).unwrap(), 4);
        assert_eq!(IfMatch::Versions(vec![2, 4]).expect(4).unwrap(), 4);
        assert!(matches!(
            IfMatch::Versions(vec![3]).expect(4),
            Err(ApiError::PreconditionFailed { current: 4 })
        ));
        assert!(matches!(
            IfMatch::Absent.expect(4),
            Err(ApiError::PreconditionRequired)
        ));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        #[allow(dead_code)]
        key_size: i64,
        #[allow(dead_code)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    struct Item {
        #[allow(dead_code)]
        name: String,
    }

    fn field_and_rule(error: ApiError) -> (String, &'static str) {
        match error {
            ApiError::Validation(errors) => (errors.errors()[0].field.clone(), errors.errors()[0].rule),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn fields_and_rules(error: ApiError) -> Vec<(String, &'static str)> {
        match error {
            ApiError::Validation(errors) => errors
                .errors()
                .iter()
                .map(|error| (error.field.clone(), error.rule))
                .collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn bodies_must_be_objects_not_field_values_in_order() {
        use scepter_domain::{checkin::CheckInReport, directory::UserDraft};

        // serde alone would accept these as a user and as a check-in.
        let user = parse_json_body::<UserDraft>(br#"["jane@contoso.com", "Jane"]"#).unwrap_err();
        assert_eq!(fields_and_rules(user), [("body".to_owned(), "schema")]);
        assert!(parse_json::<UserDraft>(br#"["jane@contoso.com", "Jane"]"#).is_ok());
        let check_in = parse_json_body::<CheckInReport>(b"[]").unwrap_err();
        assert_eq!(fields_and_rules(check_in), [("body".to_owned(), "schema")]);

        // Nested: items of an array of objects, and an optional object.
        let nested = parse_json_body::<CheckInReport>(
            br#"{"installedProfiles": [{"profileId": "01a21372-50f4-7247-872f-4436f2dc0f8d", "version": 1},
                ["01a21372-50f4-7247-872f-4436f2dc0f8d", 2]]}"#,
        )
        .unwrap_err();
        assert_eq!(
            fields_and_rules(nested),
            [("installedProfiles[1]".to_owned(), "schema")]
        );
        let optional = parse_json_body::<crate::http::webhook::StepCaWebhookRequest>(
            br#"{"timestamp": "2024-01-01T00:00:00Z", "x509CertificateRequest": ["MIIB"]}"#,
        )
        .unwrap_err();
        assert_eq!(
            fields_and_rules(optional),
            [("x509CertificateRequest".to_owned(), "schema")]
        );

        // Arrays the schema has are fine.
        let check_in = parse_json_body::<CheckInReport>(
            br#"{"installedProfiles": [{"profileId": "01a21372-50f4-7247-872f-4436f2dc0f8d", "version": 1}],
                "installedCertificates": []}"#,
        );
        assert!(check_in.is_ok());
    }

    #[test]
    fn json_syntax_errors_are_malformed_requests() {
        assert!(matches!(
            parse_json::<Body>(b"{\"keySize\": "),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"not json"),
            Err(ApiError::Malformed(_))
        ));
    }

    #[test]
    fn json_data_errors_name_the_field() {
        let wrong_type = parse_json::<Body>(br#"{"keySize": "big", "items": []}"#).unwrap_err();
        assert_eq!(field_and_rule(wrong_type), ("keySize".to_owned(), "schema"));
        let nested = parse_json::<Body>(br#"{"keySize": 1, "items": [{"name": 1}]}"#).unwrap_err();
        assert_eq!(field_and_rule(nested), ("items[0].name".to_owned(), "schema"));
        let missing = parse_json::<Body>(br#"{"items": []}"#).unwrap_err();
        assert_eq!(field_and_rule(missing), ("keySize".to_owned(), "schema"));
        let nested_missing = parse_json::<Body>(br#"{"keySize": 1, "items": [{}]}"#).unwrap_err();
        assert_eq!(
            field_and_rule(nested_missing),
            ("items[0].name".to_owned(), "schema")
        );
        let whole = parse_json::<Body>(b"[]").unwrap_err();
        assert_eq!(field_and_rule(whole), ("body".to_owned(), "schema"));
    }
}
