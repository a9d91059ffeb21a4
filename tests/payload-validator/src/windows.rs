//! Windows OMA-DM SyncML (what Scepter sends a Windows device).
//!
//! Structure, from OMA DM 1.2 as Windows implements it ("OMA DM protocol
//! support", "Structure of OMA DM provisioning files" on learn.microsoft.com):
//! `SyncML` (namespace `SYNCML:SYNCML1.2`) holds one `SyncHdr` (VerDTD 1.2,
//! VerProto DM/1.2, SessionID, MsgID, Target and Source LocURIs) and one
//! `SyncBody`; every command has a `CmdID`, unique in the message; item
//! commands carry `Item/Target/LocURI`; `Atomic` does not nest and holds no
//! `Get`; `Final` closes the body.
//!
//! Nodes, from Microsoft's DDFs (see [`crate::reference`]): every LocURI
//! under ClientCertificateInstall or RootCATrustedCertificates must be a node
//! of the CSP, the command must be one of the node's access types, and
//! `Meta/Format` (namespace `syncml:metinf`) must be the node's format
//! (`chr` when absent). Values are checked in [`values`].
//!
//! SCEP enrollment, from the ClientCertificateInstall CSP page: the required
//! settings (ServerURL, Challenge, EKUMapping, KeyUsage, SubjectName,
//! KeyLength, HashAlgorithm, CAThumbprint) and the `Exec` of `Install/Enroll`
//! go in one `Atomic`, the `Exec` last — after every `Add` it depends on —
//! and KeyProtection 4 (Windows Hello) needs ContainerName.

mod values;

use roxmltree::{Node, NodeId};

use crate::{
    formats::parse_int,
    reference::{self, Matched},
    report::Report,
};

const SYNCML_NAMESPACE: &str = "SYNCML:SYNCML1.2";
const METINF_NAMESPACE: &str = "syncml:metinf";
const COMMANDS: [&str; 11] = [
    "Add", "Alert", "Atomic", "Copy", "Delete", "Exec", "Get", "Replace", "Results", "Sequence", "Status",
];
const ITEM_COMMANDS: [&str; 6] = ["Add", "Copy", "Delete", "Exec", "Get", "Replace"];
const SCEP_REQUIRED: [&str; 8] = [
    "ServerURL",
    "Challenge",
    "EKUMapping",
    "KeyUsage",
    "SubjectName",
    "KeyLength",
    "HashAlgorithm",
    "CAThumbprint",
];

/// One item of an item command, in document order.
struct ItemCommand<'a, 'input> {
    command: Node<'a, 'input>,
    name: &'a str,
    item: Node<'a, 'input>,
    atomic: Option<Node<'a, 'input>>,
    place: String,
}

/// Checks a message, given its `SyncML` root element.
pub fn validate(root: Node<'_, '_>, report: &mut Report) {
    match root.tag_name().namespace() {
        None => report.warn(
            "SyncML",
            format!("no namespace; Windows MDM uses xmlns=\"{SYNCML_NAMESPACE}\""),
        ),
        Some(namespace) if !namespace.eq_ignore_ascii_case(SYNCML_NAMESPACE) => {
            report.error(
                "SyncML",
                format!("namespace '{namespace}'; OMA DM 1.2 is '{SYNCML_NAMESPACE}'"),
            );
        }
        Some(_) => {}
    }
    for element in root.children().filter(Node::is_element) {
        let name = element.tag_name().name();
        if name != "SyncHdr" && name != "SyncBody" {
            report.error("SyncML", format!("unexpected element '{name}'"));
        }
    }
    if children(root, "SyncBody").count() != 1 {
        report.error("SyncML", "exactly one SyncBody is required");
    }
    if let Some(header) = child(root, "SyncHdr") {
        check_header(header, report);
    }
    let Some(body) = child(root, "SyncBody") else {
        return;
    };
    let mut command_ids = Vec::new();
    let mut items = Vec::new();
    walk_commands(body, "SyncBody", None, report, &mut command_ids, &mut items);
    check_items(&items, report);
}

fn check_header(header: Node<'_, '_>, report: &mut Report) {
    let text = |path: &[&'static str]| {
        text_at(header, path)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    if text(&["VerDTD"]) != "1.2" {
        report.error("SyncHdr", "VerDTD must be 1.2");
    }
    if text(&["VerProto"]) != "DM/1.2" {
        report.error("SyncHdr", "VerProto must be DM/1.2");
    }
    for key in ["SessionID", "MsgID"] {
        if text(&[key]).is_empty() {
            report.error("SyncHdr", format!("{key} missing"));
        }
    }
    if parse_int(&text(&["MsgID"])).is_none() {
        report.error("SyncHdr.MsgID", "must be a decimal number");
    }
    for key in ["Target", "Source"] {
        if text(&[key, "LocURI"]).is_empty() {
            report.error("SyncHdr", format!("{key}/LocURI missing"));
        }
    }
}

/// Checks the commands of `container` (SyncBody, Atomic or Sequence) and
/// collects their items.
fn walk_commands<'a, 'input>(
    container: Node<'a, 'input>,
    container_place: &str,
    atomic: Option<Node<'a, 'input>>,
    report: &mut Report,
    command_ids: &mut Vec<(String, String)>,
    items: &mut Vec<ItemCommand<'a, 'input>>,
) {
    let elements: Vec<Node<'a, 'input>> = container.children().filter(Node::is_element).collect();
    for (index, command) in elements.iter().copied().enumerate() {
        let name = command.tag_name().name();
        let place = format!("{container_place}/{name}");
        if container_place != "SyncBody" && matches!(name, "CmdID" | "Meta" | "NoResp") {
            continue; // fields of the Atomic or Sequence itself
        }
        if name == "Final" {
            if container_place != "SyncBody" || index != elements.len() - 1 {
                report.error(&place, "Final must be the last child of SyncBody");
            }
            continue;
        }
        if !COMMANDS.contains(&name) {
            report.error(
                &place,
                format!("'{name}' is not an OMA DM command (device answers 400)"),
            );
            continue;
        }
        let command_id = text_at(command, &["CmdID"]).map(str::trim).unwrap_or_default();
        if command_id.is_empty() {
            report.error(&place, "CmdID missing (device answers 400)");
        } else {
            if !command_id.bytes().all(|byte| byte.is_ascii_digit()) {
                report.warn(&place, format!("CmdID '{command_id}' is not a decimal number"));
            }
            if let Some((_, first)) = command_ids.iter().find(|(id, _)| id == command_id) {
                report.error(&place, format!("duplicate CmdID {command_id} (also on {first})"));
            }
            command_ids.push((command_id.to_owned(), place.clone()));
        }
        match name {
            "Atomic" => {
                if atomic.is_some() {
                    report.error(&place, "nested Atomic (device answers 500/507)");
                }
                walk_commands(command, &place, Some(command), report, command_ids, items);
                continue;
            }
            "Sequence" => {
                walk_commands(command, &place, atomic, report, command_ids, items);
                continue;
            }
            "Get" if atomic.is_some() => report.error(&place, "Get inside Atomic is not allowed"),
            _ => {}
        }
        if ITEM_COMMANDS.contains(&name) {
            let mut any = false;
            for item in children(command, "Item") {
                any = true;
                items.push(ItemCommand {
                    command,
                    name,
                    item,
                    atomic,
                    place: place.clone(),
                });
            }
            if !any {
                report.error(&place, "command without Item");
            }
        }
    }
}

/// What one SCEP enrollment (`ClientCertificateInstall/SCEP/{UniqueID}`) sends.
#[derive(Default)]
struct ScepNode<'a, 'input> {
    scope: String,
    unique_id: String,
    /// Leaf name → data, from Add/Replace, with the item's position.
    leaves: Vec<(String, Option<String>, usize)>,
    atomics: Vec<Option<NodeId>>,
    /// Install/Enroll commands: (command, enclosing Atomic, command name, position).
    enrolls: Vec<(Node<'a, 'input>, Option<Node<'a, 'input>>, &'a str, usize)>,
}

fn check_items(items: &[ItemCommand<'_, '_>], report: &mut Report) {
    let ddf = reference::ddf();
    let mut scep_nodes: Vec<ScepNode<'_, '_>> = Vec::new();
    let mut first_write_in_atomic: Vec<(NodeId, String, &str)> = Vec::new();
    for (position, entry) in items.iter().enumerate() {
        let Some(loc_uri) = text_at(entry.item, &["Target", "LocURI"])
            .map(str::trim)
            .filter(|loc_uri| !loc_uri.is_empty())
        else {
            report.error(&entry.place, "Item without Target/LocURI");
            continue;
        };
        let place = format!("{} {loc_uri}", entry.place);
        check_loc_uri_syntax(loc_uri, &place, report);
        if let (Some(atomic), "Add" | "Replace") = (entry.atomic, entry.name) {
            let key = loc_uri.to_lowercase();
            match first_write_in_atomic
                .iter()
                .find(|(id, uri, _)| *id == atomic.id() && *uri == key)
            {
                Some((_, _, "Add")) if entry.name == "Replace" => report.error(
                    &place,
                    "Add followed by Replace of the same node inside one Atomic is not supported",
                ),
                Some(_) => {}
                None => first_write_in_atomic.push((atomic.id(), key, entry.name)),
            }
        }

        let lower = loc_uri.to_lowercase();
        if !lower.contains("/vendor/msft/clientcertificateinstall")
            && !lower.contains("/vendor/msft/rootcatrustedcertificates")
        {
            report.warn(
                &place,
                "LocURI outside ClientCertificateInstall/RootCATrustedCertificates: not checked",
            );
            continue;
        }
        let normalised = if lower.starts_with("./device/") || lower.starts_with("./user/") {
            loc_uri.to_owned()
        } else {
            report.warn(
                &place,
                "LocURI without ./Device or ./User prefix (device-targeted by default)",
            );
            match loc_uri.strip_prefix("./") {
                Some(rest) => format!("./Device/{rest}"),
                None => loc_uri.to_owned(),
            }
        };
        let Some(matched) = ddf.find(&normalised) else {
            let hint = if normalised
                .to_lowercase()
                .starts_with("./user/vendor/msft/rootcatrustedcertificates/root/")
            {
                " (the Root store exists only under ./Device; ./User has CA, TrustedPublisher, TrustedPeople, \
                 UntrustedCertificates)"
            } else {
                ""
            };
            report.error(&place, format!("not a node of the CSP (DDF){hint}"));
            continue;
        };
        check_command_on_node(entry, &matched, &place, report);

        let node = matched.node;
        let data = child(entry.item, "Data").map(|data| {
            data.descendants()
                .filter(Node::is_text)
                .filter_map(|text| text.text())
                .collect::<String>()
        });
        let writes_leaf = matches!(entry.name, "Add" | "Replace") && node.format.as_deref() != Some("node");
        if node.pattern.contains("/ClientCertificateInstall/SCEP/") {
            let scope = normalised.split('/').nth(1).unwrap_or_default().to_lowercase();
            let unique_id = matched.binding("UniqueID").unwrap_or_default().to_owned();
            let scep = scep_node(&mut scep_nodes, scope, unique_id);
            let atomic = entry.atomic.map(|atomic| atomic.id());
            if !scep.atomics.contains(&atomic) {
                scep.atomics.push(atomic);
            }
            if node.name() == "Enroll" {
                scep.enrolls
                    .push((entry.command, entry.atomic, entry.name, position));
            } else if writes_leaf {
                scep.leaves.retain(|(leaf, _, _)| leaf != node.name());
                scep.leaves.push((node.name().to_owned(), data.clone(), position));
            }
        }
        if let (true, Some(data)) = (writes_leaf, data.as_deref()) {
            values::check(report, &place, &matched, data);
        }
    }
    for scep in &scep_nodes {
        check_scep_enrollment(scep, report);
    }
}

/// RFC 3986-style relative URI as OMA DM uses it: `./` first, no empty segment.
fn check_loc_uri_syntax(loc_uri: &str, place: &str, report: &mut Report) {
    if loc_uri.starts_with('/') {
        report.error(place, "LocURI must not start with '/'");
    }
    let segments: Vec<&str> = loc_uri.split('/').collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        report.error(place, "empty path segment in LocURI");
    }
    if segments.iter().skip(1).any(|segment| *segment == ".") {
        report.error(place, "'.' is only valid as the first LocURI segment");
    }
}

/// The enrollment of `unique_id` in `scope`, added on first sight.
fn scep_node<'s, 'a, 'input>(
    nodes: &'s mut Vec<ScepNode<'a, 'input>>,
    scope: String,
    unique_id: String,
) -> &'s mut ScepNode<'a, 'input> {
    let index = match nodes
        .iter()
        .position(|scep| scep.scope == scope && scep.unique_id == unique_id)
    {
        Some(index) => index,
        None => {
            nodes.push(ScepNode {
                scope,
                unique_id,
                ..ScepNode::default()
            });
            nodes.len() - 1
        }
    };
    &mut nodes[index]
}

/// The command is one of the node's access types and carries the node's format.
fn check_command_on_node(
    entry: &ItemCommand<'_, '_>,
    matched: &Matched<'_>,
    place: &str,
    report: &mut Report,
) {
    let node = matched.node;
    if entry.name == "Get" {
        if !node.allows("Get") {
            report.error(place, "Get not allowed on this node");
        }
    } else if !node.allows(entry.name) {
        report.error(
            place,
            format!(
                "{} not allowed on this node (DDF access: {:?})",
                entry.name,
                sorted(&node.access)
            ),
        );
    }
    let format_element = [child(entry.item, "Meta"), child(entry.command, "Meta")]
        .into_iter()
        .flatten()
        .find_map(|meta| child(meta, "Format"));
    let format = format_element.map(|element| element.text().unwrap_or_default().trim());
    if let Some(element) = format_element {
        if element.tag_name().namespace() != Some(METINF_NAMESPACE) {
            report.warn(
                place,
                format!("Meta/Format not in the '{METINF_NAMESPACE}' namespace"),
            );
        }
    }
    let node_format = node.format.as_deref().unwrap_or("None");
    if matches!(entry.name, "Add" | "Replace") {
        if node_format == "node" {
            match format {
                None => report.warn(place, "Add of an interior node without Meta/Format node"),
                Some("node") => {}
                Some(other) => report.error(
                    place,
                    format!("Meta/Format '{other}'; the DDF format of this node is 'node'"),
                ),
            }
        } else {
            if format.unwrap_or("chr") != node_format {
                let shown = format.map_or("None (defaults to chr)".to_owned(), |format| {
                    format!("'{format}'")
                });
                report.error(
                    place,
                    format!("Meta/Format {shown}; the DDF format is '{node_format}'"),
                );
            }
            if child(entry.item, "Data").is_none() {
                report.error(place, "Add/Replace of a leaf without Data");
            }
        }
    }
    if let (true, Some(format)) = (entry.name == "Exec", format) {
        if format != "null" && format != "chr" {
            report.error(
                place,
                format!("Exec with Meta/Format '{format}'; the DDF format is '{node_format}'"),
            );
        }
    }
}

fn check_scep_enrollment(scep: &ScepNode<'_, '_>, report: &mut Report) {
    let place = format!(
        "ClientCertificateInstall/SCEP/{} ({})",
        scep.unique_id, scep.scope
    );
    if scep.leaves.is_empty() && scep.enrolls.is_empty() {
        return;
    }
    let leaf = |name: &str| scep.leaves.iter().find(|(leaf, _, _)| leaf == name);
    if !scep.leaves.is_empty() {
        let missing: Vec<&str> = SCEP_REQUIRED
            .into_iter()
            .filter(|name| leaf(name).is_none())
            .collect();
        if !missing.is_empty() {
            report.error(
                &place,
                format!("required settings missing: {}", missing.join(", ")),
            );
        }
        let key_protection = leaf("KeyProtection").and_then(|(_, data, _)| data.as_deref());
        let container = leaf("ContainerName").and_then(|(_, data, _)| data.as_deref());
        if key_protection.map(str::trim) == Some("4") && container.is_none_or(str::is_empty) {
            report.error(&place, "KeyProtection 4 (Windows Hello) requires ContainerName");
        }
        if scep.enrolls.is_empty() {
            report.error(&place, "no Exec of Install/Enroll: enrollment never starts");
        }
        if scep.atomics.contains(&None) {
            report.error(
                &place,
                "SCEP settings must be wrapped in an Atomic (CSP requirement)",
            );
        } else if scep.atomics.len() > 1 {
            report.error(
                &place,
                "SCEP settings and Enroll are split over several Atomic blocks",
            );
        }
    }
    for (command, atomic, name, position) in &scep.enrolls {
        if *name != "Exec" {
            continue;
        }
        let Some(atomic) = atomic else {
            report.error(&place, "Enroll Exec is not inside the Atomic");
            continue;
        };
        let last = atomic
            .children()
            .rfind(|child| child.is_element() && COMMANDS.contains(&child.tag_name().name()));
        if last.is_some_and(|last| last != *command) {
            report.error(&place, "Enroll Exec must be the last command in the Atomic block");
        }
        let later: Vec<&str> = scep
            .leaves
            .iter()
            .filter(|(_, _, leaf_position)| leaf_position > position)
            .map(|(leaf, _, _)| leaf.as_str())
            .collect();
        if !later.is_empty() {
            report.error(
                &place,
                format!(
                    "Enroll Exec comes before the Add of {}: the device enrolls with the settings it has then",
                    later.join(", ")
                ),
            );
        }
    }
}

fn sorted(values: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = values.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted
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

/// The text of the element at `path` below `node` (empty when it has none).
fn text_at<'a>(node: Node<'a, '_>, path: &[&'static str]) -> Option<&'a str> {
    let mut current = node;
    for name in path {
        current = child(current, name)?;
    }
    Some(current.text().unwrap_or_default())
}
