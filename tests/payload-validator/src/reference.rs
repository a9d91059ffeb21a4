//! The platforms' own machine-readable rules, embedded from `tests/reference/`
//! (verbatim copies; sources, versions and licences in its README) and
//! parsed once per process.
//!
//! - Apple: `apple/device-management` `mdm/profiles/*.yaml`, the schema
//!   format described in that repository's `docs/schema.md` — each key has a
//!   `type` (`<string>`, `<integer>`, …), a `presence`, optional `rangelist`,
//!   `range` and `repetition`, and `subkeys` for dictionaries and arrays.
//! - Microsoft: the ClientCertificateInstall and RootCATrustedCertificates
//!   CSP DDF v2 files — a tree of `Node`s with `NodeName` (empty for a
//!   dynamic node, named by its `DFTitle`), `AccessType`, `DFFormat` and
//!   `MSFT:AllowedValues`.

use std::{fmt, sync::OnceLock};

use roxmltree::{Document, Node, ParsingOptions};
use yaml_rust2::{Yaml, YamlLoader};

const TOP_LEVEL: &str = include_str!("../../reference/apple/TopLevel.yaml");
const COMMON_PAYLOAD_KEYS: &str = include_str!("../../reference/apple/CommonPayloadKeys.yaml");
const PAYLOAD_SCHEMAS: [&str; 4] = [
    include_str!("../../reference/apple/com.apple.security.scep.yaml"),
    include_str!("../../reference/apple/com.apple.security.root.yaml"),
    include_str!("../../reference/apple/com.apple.security.pkcs1.yaml"),
    include_str!("../../reference/apple/com.apple.security.pkcs12.yaml"),
];
const DDFS: [&str; 2] = [
    include_str!("../../reference/windows/ddf/ClientCertificateInstall.xml"),
    include_str!("../../reference/windows/ddf/RootCATrustedCertificates.xml"),
];

// ---------------------------------------------------------------- Apple

/// One key of an Apple profile schema.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// The key, or `ANY` for "any key" (dictionaries of free-form keys).
    pub key: String,
    /// `<string>`, `<integer>`, `<boolean>`, `<data>`, `<date>`, `<real>`,
    /// `<array>`, `<dictionary>` or `<any>`.
    pub value_type: Option<String>,
    pub required: bool,
    pub rangelist: Option<Vec<Scalar>>,
    pub range: Bounds<f64>,
    /// For an array's item spec: how many items the array may hold.
    pub repetition: Bounds<usize>,
    pub subkeys: Vec<KeySpec>,
    /// The SCEP `SubjectAltName` values are typed `<string>`, yet the key's
    /// own description says "You can specify a single string or an array of
    /// strings for each key": both are accepted there.
    pub string_or_array: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds<T> {
    pub min: Option<T>,
    pub max: Option<T>,
}

/// A value of a `rangelist`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Integer(i64),
    Real(f64),
    String(String),
    Boolean(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Integer(value) => write!(formatter, "{value}"),
            Self::Real(value) => write!(formatter, "{value}"),
            Self::String(value) => write!(formatter, "'{value}'"),
            Self::Boolean(value) => write!(formatter, "{value}"),
        }
    }
}

/// Apple's schemas for what Scepter renders.
#[derive(Debug)]
pub struct AppleSchemas {
    /// The profile's own keys (`TopLevel.yaml`).
    pub top_level: Vec<KeySpec>,
    /// Keys every payload has (`CommonPayloadKeys.yaml`).
    pub common: Vec<KeySpec>,
    /// `PayloadType` → that payload's keys.
    pub payload_types: Vec<(String, Vec<KeySpec>)>,
}

impl AppleSchemas {
    pub fn payload_type(&self, payload_type: &str) -> Option<&[KeySpec]> {
        self.payload_types
            .iter()
            .find(|(name, _)| name == payload_type)
            .map(|(_, keys)| keys.as_slice())
    }
}

pub fn apple() -> &'static AppleSchemas {
    static SCHEMAS: OnceLock<AppleSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let top_level = payload_keys(&load_yaml(TOP_LEVEL));
        let common = payload_keys(&load_yaml(COMMON_PAYLOAD_KEYS));
        let payload_types = PAYLOAD_SCHEMAS
            .iter()
            .map(|text| {
                let document = load_yaml(text);
                let name = document["payload"]["payloadtype"]
                    .as_str()
                    .expect("every Apple payload schema names its payloadtype")
                    .to_owned();
                let mut keys = payload_keys(&document);
                if name == "com.apple.security.scep" {
                    mark_subject_alt_name_leaves(&mut keys);
                }
                (name, keys)
            })
            .collect();
        AppleSchemas {
            top_level,
            common,
            payload_types,
        }
    })
}

/// Parses a file embedded at compile time; a failure is a broken checkout,
/// found by every test at once.
fn load_yaml(text: &str) -> Yaml {
    YamlLoader::load_from_str(text)
        .expect("the embedded Apple schema is valid YAML")
        .into_iter()
        .next()
        .expect("the embedded Apple schema has one document")
}

fn payload_keys(document: &Yaml) -> Vec<KeySpec> {
    key_specs(&document["payloadkeys"])
}

fn key_specs(list: &Yaml) -> Vec<KeySpec> {
    list.as_vec()
        .map(|items| items.iter().map(key_spec).collect())
        .unwrap_or_default()
}

fn key_spec(yaml: &Yaml) -> KeySpec {
    KeySpec {
        key: yaml["key"].as_str().unwrap_or_default().to_owned(),
        value_type: yaml["type"].as_str().map(str::to_owned),
        required: yaml["presence"].as_str() == Some("required"),
        rangelist: yaml["rangelist"]
            .as_vec()
            .map(|values| values.iter().filter_map(scalar).collect()),
        range: Bounds {
            min: yaml["range"]["min"]
                .as_f64()
                .or(yaml["range"]["min"].as_i64().map(|n| n as f64)),
            max: yaml["range"]["max"]
                .as_f64()
                .or(yaml["range"]["max"].as_i64().map(|n| n as f64)),
        },
        repetition: Bounds {
            min: yaml["repetition"]["min"]
                .as_i64()
                .and_then(|n| usize::try_from(n).ok()),
            max: yaml["repetition"]["max"]
                .as_i64()
                .and_then(|n| usize::try_from(n).ok()),
        },
        subkeys: key_specs(&yaml["subkeys"]),
        string_or_array: false,
    }
}

fn scalar(yaml: &Yaml) -> Option<Scalar> {
    match yaml {
        Yaml::Integer(value) => Some(Scalar::Integer(*value)),
        Yaml::Real(_) => yaml.as_f64().map(Scalar::Real),
        Yaml::String(value) => Some(Scalar::String(value.clone())),
        Yaml::Boolean(value) => Some(Scalar::Boolean(*value)),
        _ => None,
    }
}

fn mark_subject_alt_name_leaves(keys: &mut [KeySpec]) {
    for top in keys {
        for sub in &mut top.subkeys {
            if sub.key == "SubjectAltName" {
                for leaf in &mut sub.subkeys {
                    leaf.string_or_array = true;
                }
            }
        }
    }
}

// ---------------------------------------------------------------- Windows

/// One node of a CSP: its full path pattern, e.g.
/// `./User/Vendor/MSFT/ClientCertificateInstall/SCEP/{UniqueID}/Install/KeyUsage`.
#[derive(Debug, Clone)]
pub struct DdfNode {
    pub pattern: String,
    /// `node`, `chr`, `int`, `bool`, `b64`, `null`, …
    pub format: Option<String>,
    /// `Add`, `Delete`, `Exec`, `Get`, `Replace`.
    pub access: Vec<String>,
    pub allowed: Option<Allowed>,
}

impl DdfNode {
    /// The last path segment: a leaf's name, or `{UniqueID}` for a dynamic node.
    pub fn name(&self) -> &str {
        self.pattern.rsplit('/').next().unwrap_or_default()
    }

    pub fn allows(&self, command: &str) -> bool {
        self.access.iter().any(|access| access == command)
    }
}

/// `MSFT:AllowedValues` of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Allowed {
    Enum(Vec<String>),
    Range(i128, i128),
}

/// A concrete LocURI matched to its node, with the names of its dynamic segments.
pub struct Matched<'a> {
    pub node: &'a DdfNode,
    pub bindings: Vec<(&'a str, String)>,
}

impl Matched<'_> {
    pub fn binding(&self, title: &str) -> Option<&str> {
        self.bindings
            .iter()
            .find(|(name, _)| *name == title)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug)]
pub struct Ddf {
    nodes: Vec<DdfNode>,
}

impl Ddf {
    /// The node a LocURI addresses. Literal segments compare case-insensitively
    /// (`./Device` and `./device` are both sent); a dynamic segment matches any
    /// non-empty name. The first match in DDF order wins.
    pub fn find(&self, loc_uri: &str) -> Option<Matched<'_>> {
        let segments: Vec<&str> = loc_uri.split('/').collect();
        self.nodes.iter().find_map(|node| {
            let pattern: Vec<&str> = node.pattern.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut bindings = Vec::new();
            for (expected, actual) in pattern.iter().zip(&segments) {
                if let Some(title) = expected.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')) {
                    if actual.is_empty() {
                        return None;
                    }
                    bindings.push((title, (*actual).to_owned()));
                } else if !expected.eq_ignore_ascii_case(actual) {
                    return None;
                }
            }
            Some(Matched { node, bindings })
        })
    }
}

pub fn ddf() -> &'static Ddf {
    static DDF: OnceLock<Ddf> = OnceLock::new();
    DDF.get_or_init(|| {
        let mut nodes = Vec::new();
        for text in DDFS {
            let text = text.trim_start_matches('\u{feff}');
            let options = ParsingOptions {
                allow_dtd: true,
                ..ParsingOptions::default()
            };
            let document =
                Document::parse_with_options(text, options).expect("the embedded DDF is well-formed XML");
            for node in children(document.root_element(), "Node") {
                walk_ddf(node, "", &mut nodes);
            }
        }
        Ddf { nodes }
    })
}

fn walk_ddf(node: Node<'_, '_>, parent: &str, nodes: &mut Vec<DdfNode>) {
    let properties = child(node, "DFProperties");
    let mut name = child_text(node, "NodeName").unwrap_or_default().to_owned();
    if name.is_empty() {
        let title = properties
            .and_then(|properties| child_text(properties, "DFTitle"))
            .unwrap_or("dynamic");
        name = format!("{{{}}}", title.trim());
    }
    let base = match child_text(node, "Path") {
        Some(path) if !path.is_empty() => path.trim_end_matches('/'),
        _ => parent,
    };
    let pattern = format!("{base}/{name}");
    let tag_names = |element: &'static str| -> Vec<String> {
        properties
            .and_then(|properties| child(properties, element))
            .map(|list| {
                list.children()
                    .filter(Node::is_element)
                    .map(|item| item.tag_name().name().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    nodes.push(DdfNode {
        pattern: pattern.clone(),
        format: tag_names("DFFormat").into_iter().next(),
        access: tag_names("AccessType"),
        allowed: properties.and_then(allowed_values),
    });
    for sub in children(node, "Node") {
        walk_ddf(sub, &pattern, nodes);
    }
}

fn allowed_values(properties: Node<'_, '_>) -> Option<Allowed> {
    let allowed = child(properties, "AllowedValues")?;
    match allowed.attribute("ValueType") {
        Some("ENUM") => Some(Allowed::Enum(
            children(allowed, "Enum")
                .map(|entry| child_text(entry, "Value").unwrap_or_default().trim().to_owned())
                .collect(),
        )),
        Some("Range") => {
            let (low, high) = parse_range(child_text(allowed, "Value")?.trim())?;
            Some(Allowed::Range(low, high))
        }
        _ => None,
    }
}

/// `[low-high]`, either bound possibly negative.
fn parse_range(value: &str) -> Option<(i128, i128)> {
    let inner = value.strip_prefix('[')?.split_once(']')?.0;
    let (separator, _) = inner
        .char_indices()
        .skip(1)
        .find(|&(_, character)| character == '-')?;
    Some((
        inner[..separator].parse().ok()?,
        inner[separator + 1..].parse().ok()?,
    ))
}

fn children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &'static str) -> Option<Node<'a, 'input>> {
    children(node, name).next()
}

fn child_text<'a>(node: Node<'a, '_>, name: &'static str) -> Option<&'a str> {
    child(node, name).map(|element| element.text().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_schemas_load_with_their_payload_types() {
        let schemas = apple();
        assert!(schemas
            .top_level
            .iter()
            .any(|key| key.key == "PayloadContent" && key.required));
        let scep = schemas
            .payload_type("com.apple.security.scep")
            .expect("SCEP schema");
        let content = scep
            .iter()
            .find(|key| key.key == "PayloadContent")
            .expect("PayloadContent");
        let key_size = content
            .subkeys
            .iter()
            .find(|key| key.key == "Keysize")
            .expect("Keysize");
        assert_eq!(
            key_size.rangelist,
            Some(vec![
                Scalar::Integer(1024),
                Scalar::Integer(2048),
                Scalar::Integer(4096)
            ])
        );
        for payload_type in [
            "com.apple.security.root",
            "com.apple.security.pkcs1",
            "com.apple.security.pkcs12",
        ] {
            assert!(schemas.payload_type(payload_type).is_some(), "{payload_type}");
        }
    }

    #[test]
    fn ddf_nodes_carry_format_access_and_allowed_values() {
        let ddf = ddf();
        let key_length = ddf
            .find("./User/Vendor/MSFT/ClientCertificateInstall/SCEP/abc/Install/KeyLength")
            .expect("KeyLength");
        assert_eq!(key_length.node.format.as_deref(), Some("int"));
        assert_eq!(key_length.binding("UniqueID"), Some("abc"));
        assert!(key_length.node.allows("Add"));
        assert_eq!(
            key_length.node.allowed,
            Some(Allowed::Enum(vec!["1024".into(), "2048".into(), "4096".into()]))
        );
        let retry_count = ddf
            .find("./device/vendor/msft/clientcertificateinstall/SCEP/x/Install/RetryCount")
            .expect("RetryCount, literal segments compared case-insensitively");
        assert_eq!(retry_count.node.allowed, Some(Allowed::Range(0, 30)));
        let certificate = ddf
            .find("./Device/Vendor/MSFT/RootCATrustedCertificates/Root/AB/EncodedCertificate")
            .expect("EncodedCertificate");
        assert_eq!(certificate.node.format.as_deref(), Some("b64"));
        assert_eq!(certificate.binding("CertHash"), Some("AB"));
        assert!(ddf
            .find("./User/Vendor/MSFT/RootCATrustedCertificates/Root/AB/EncodedCertificate")
            .is_none());
    }
}
