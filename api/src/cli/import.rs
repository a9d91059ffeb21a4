//! `scepter import`: bulk onboarding of users, devices and group members from
//! CSV or JSON-lines files, upserted by the source directory's `externalId`.
//!
//! Onboarding files come from exports and spreadsheets, so some rows are
//! always wrong. Every row is judged on its own: it is read, checked by the
//! same domain parsers as the API (`User::parse`, `Device::parse`), and valid
//! rows go to the store in batches of one transaction each, where conflicts
//! (a taken UPN, an unknown `userExternalId`, …) reject single rows too. A
//! rejected row is reported with its line number and reason and never costs
//! the other rows anything. Rows are compared with what is stored, so
//! re-running the same file changes nothing and reports every row unchanged.
//!
//! The column names are the API's camelCase attribute names; an empty CSV cell
//! is an absent value. Problems with the file as a whole — unreadable, an
//! unknown or missing column — stop before anything is written.

use std::{
    collections::HashMap,
    fs::File,
    io::{BufRead, BufReader, IsTerminal, Write},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use scepter_domain::{
    directory::{Device, DeviceDraft, User, UserDraft},
    Platform, ValidationErrors,
};
use scepter_storage::{Actor, DeviceImport, ImportRun, MembershipImport, RowOutcome, Store};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::settings::DatabaseArgs;

/// Exit status when the file was processed but some rows were rejected.
pub const EXIT_ROWS_REJECTED: i32 = 2;

#[derive(Debug, Args)]
#[command(after_help = "\
Columns (CSV header names or JSON keys; an empty CSV cell is an absent value):
  users:   externalId, userPrincipalName, displayName, mail,
           onPremisesDistinguishedName, onPremisesSamAccountName
  devices: externalId, deviceName, platform, osVersion, serialNumber, imei,
           azureADDeviceId, userExternalId (the primary user's externalId)
  members: groupExternalId, memberExternalId (a user or a device, as the group's type says)

Rows are upserted by externalId; a later row repeating an externalId is rejected.
The summary goes to stdout: `created N, updated N, unchanged N, rejected N`,
then `line L: reason` for each rejected row.

Exit status: 0 when every row was imported (or already up to date); 2 when the
file was processed but some rows were rejected; 1 when the file cannot be read
or the database fails (batches committed until then stay; re-running is safe).")]
pub struct ImportArgs {
    /// What the file holds. Default: from the file name (users*, devices*, members*).
    #[arg(long, value_enum)]
    pub kind: Option<ImportKind>,
    /// The file format. Default: from the extension (.csv; .jsonl or .ndjson for JSON lines).
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// The CSV or JSON-lines file to import.
    pub file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    Users,
    Devices,
    Members,
}

impl ImportKind {
    /// `users.csv`, `devices-2024.jsonl`, `members_staff.csv`, `memberships.csv`, …
    fn from_file_name(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_lowercase();
        [
            ("users", ImportKind::Users),
            ("devices", ImportKind::Devices),
            ("members", ImportKind::Members),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| name.starts_with(prefix).then_some(kind))
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Users => &[
                "externalId",
                "userPrincipalName",
                "displayName",
                "mail",
                "onPremisesDistinguishedName",
                "onPremisesSamAccountName",
            ],
            ImportKind::Devices => &[
                "externalId",
                "deviceName",
                "platform",
                "osVersion",
                "serialNumber",
                "imei",
                "azureADDeviceId",
                "userExternalId",
            ],
            ImportKind::Members => &["groupExternalId", "memberExternalId"],
        }
    }

    /// Columns a CSV header must have: without them every row would be rejected.
    fn required_columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Users => &["externalId", "userPrincipalName", "displayName"],
            ImportKind::Devices => &["externalId", "deviceName", "platform"],
            ImportKind::Members => &["groupExternalId", "memberExternalId"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl ImportFormat {
    fn from_extension(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_lowercase().as_str() {
            "csv" => Some(ImportFormat::Csv),
            "jsonl" | "ndjson" => Some(ImportFormat::Jsonl),
            _ => None,
        }
    }
}

/// Runs the import; exits with [`EXIT_ROWS_REJECTED`] when rows were rejected.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let Some(kind) = args.kind.or_else(|| ImportKind::from_file_name(path)) else {
        bail!(
            "cannot tell what {} holds from its name: pass --kind users|devices|members",
            path.display()
        );
    };
    let Some(format) = args.format.or_else(|| ImportFormat::from_extension(path)) else {
        bail!(
            "cannot tell the format of {} from its extension: pass --format csv|jsonl",
            path.display()
        );
    };
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let mut source = match format {
        ImportFormat::Csv => {
            Source::csv(file, kind).with_context(|| format!("reading {}", path.display()))?
        }
        ImportFormat::Jsonl => Source::json_lines(file),
    };

    let target = args.database.target()?;
    let store = scepter_storage::connect(&target, args.database.pool_settings())
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("applying migrations")?;

    let progress = progress_bar(size);
    let run = ImportRun {
        id: uuid::Uuid::now_v7(),
        actor: cli_actor(),
        source: path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        ),
    };
    let mut importer = Importer::new(kind, args.batch_size as usize, progress.clone(), run);
    let result = importer.import(store.as_ref(), &mut source, path).await;
    progress.finish_and_clear();
    // Re-imported devices may have changed user or platform: queue what no longer applies.
    if result.is_ok() {
        store
            .queue_revocations(&scepter_storage::RevocationScope::All)
            .await
            .context("queueing revocations after the import")?;
    }
    store.close().await;
    if let Err(error) = result {
        return Err(error.context(format!("import stopped; so far {}", importer.summary.counts())));
    }

    let mut summary = importer.summary;
    summary.print().context("writing the summary")?;
    if !summary.rejected.is_empty() {
        std::process::exit(EXIT_ROWS_REJECTED);
    }
    Ok(())
}

/// The operator as the audit trail names a command-line import: the
/// login name, when the environment says it (the CLI has no token).
fn cli_actor() -> Actor {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    Actor {
        subject: format!("cli:{user}"),
        role: "admin".to_owned(),
        request_id: None,
    }
}

/// Bytes of the file read so far, on a terminal only.
fn progress_bar(size: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} (eta {eta}) {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

// ------------------------------------------------------------------ reading

/// One row of the file: its line number and its values by column name, or why
/// it cannot even be read as such.
struct RawRow {
    line: u64,
    fields: Result<Map<String, Value>, String>,
}

enum Source {
    Csv {
        reader: csv::Reader<BufReader<File>>,
        headers: Vec<String>,
        record: csv::ByteRecord,
    },
    JsonLines {
        reader: BufReader<File>,
        line: u64,
        bytes: u64,
        buffer: Vec<u8>,
    },
}

impl Source {
    /// Reads and checks the header: every column known, the required ones present.
    fn csv(file: File, kind: ImportKind) -> anyhow::Result<Self> {
        // Flexible: a row with the wrong number of cells is that row's problem, not the file's.
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(BufReader::new(file));
        let headers: Vec<String> = reader
            .headers()
            .context("reading the header row")?
            .iter()
            .enumerate()
            // Spreadsheets like to start UTF-8 files with a byte-order mark.
            .map(|(index, name)| {
                if index == 0 {
                    name.trim_start_matches('\u{feff}')
                } else {
                    name
                }
                .to_owned()
            })
            .collect();
        let known = kind.columns();
        let unknown: Vec<&str> = headers
            .iter()
            .map(String::as_str)
            .filter(|name| !known.contains(name))
            .collect();
        if !unknown.is_empty() {
            bail!(
                "unknown column(s) {} in the header; the columns are: {}",
                unknown.join(", "),
                known.join(", ")
            );
        }
        let missing: Vec<&str> = kind
            .required_columns()
            .iter()
            .copied()
            .filter(|name| !headers.iter().any(|h| h == name))
            .collect();
        if !missing.is_empty() {
            bail!("the header lacks the required column(s) {}", missing.join(", "));
        }
        for (index, name) in headers.iter().enumerate() {
            if headers[..index].contains(name) {
                bail!("column {name} appears twice in the header");
            }
        }
        Ok(Source::Csv {
            reader,
            headers,
            record: csv::ByteRecord::new(),
        })
    }

    fn json_lines(file: File) -> Self {
        Source::JsonLines {
            reader: BufReader::new(file),
            line: 0,
            bytes: 0,
            buffer: Vec::new(),
        }
    }

    /// The next row, `None` at the end; `Err` only when the file cannot be read.
    fn next_row(&mut self) -> anyhow::Result<Option<RawRow>> {
        match self {
            Source::Csv {
                reader,
                headers,
                record,
            } => {
                if !reader.read_byte_record(record)? {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |position| position.line());
                Ok(Some(RawRow {
                    line,
                    fields: csv_fields(headers, record),
                }))
            }
            Source::JsonLines {
                reader,
                line,
                bytes,
                buffer,
            } => loop {
                buffer.clear();
                let read = reader.read_until(b'\n', buffer)?;
                if read == 0 {
                    return Ok(None);
                }
                *line += 1;
                *bytes += read as u64;
                let Ok(text) = std::str::from_utf8(buffer) else {
                    return Ok(Some(RawRow {
                        line: *line,
                        fields: Err("not valid UTF-8".to_owned()),
                    }));
                };
                if text.trim().is_empty() {
                    continue;
                }
                let fields = match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(fields)) => Ok(fields),
                    Ok(_) => Err("not a JSON object".to_owned()),
                    Err(error) => Err(invalid_json(&error)),
                };
                return Ok(Some(RawRow { line: *line, fields }));
            },
        }
    }

    /// Bytes consumed so far, for the progress bar.
    fn position(&self) -> u64 {
        match self {
            Source::Csv { reader, .. } => reader.position().byte(),
            Source::JsonLines { bytes, .. } => *bytes,
        }
    }
}

/// serde_json's message without its "at line 1 column N": the line is the file's.
fn invalid_json(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let location = format!(" at line {} column {}", error.line(), error.column());
    let message = message.strip_suffix(&location).unwrap_or(&message);
    format!("invalid JSON at column {}: {message}", error.column())
}

fn csv_fields(headers: &[String], record: &csv::ByteRecord) -> Result<Map<String, Value>, String> {
    if record.len() != headers.len() {
        return Err(format!(
            "has {} cells, but the header has {} columns",
            record.len(),
            headers.len()
        ));
    }
    let mut fields = Map::new();
    for (name, cell) in headers.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = std::str::from_utf8(cell).map_err(|_| format!("{name}: not valid UTF-8"))?;
        fields.insert(name.clone(), Value::String(value.to_owned()));
    }
    Ok(fields)
}

// ------------------------------------------------------------------ rows

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserColumns {
    external_id: Option<String>,
    user_principal_name: Option<String>,
    display_name: Option<String>,
    mail: Option<String>,
    on_premises_distinguished_name: Option<String>,
    on_premises_sam_account_name: Option<String>,
    on_premises_security_identifier: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeviceColumns {
    external_id: Option<String>,
    device_name: Option<String>,
    platform: Option<String>,
    os_version: Option<String>,
    serial_number: Option<String>,
    imei: Option<String>,
    #[serde(rename = "azureADDeviceId")]
    azure_ad_device_id: Option<String>,
    meid: Option<String>,
    #[serde(rename = "wiFiMacAddress")]
    wifi_mac_address: Option<String>,
    fully_qualified_domain_name: Option<String>,
    user_external_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MemberColumns {
    group_external_id: Option<String>,
    member_external_id: Option<String>,
}

/// The row's values as `T`; a wrong JSON type or unknown key names the field.
fn columns<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, String> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

fn describe(errors: &ValidationErrors) -> String {
    errors
        .errors()
        .iter()
        .map(|error| format!("{}: {}", error.field, error.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Import upserts by `externalId`, so a row without one cannot be placed.
fn require_external_id(errors: &mut ValidationErrors, external_id: &Option<String>) {
    if external_id.is_none() {
        errors.push("externalId", "required", "is required to import");
    }
}

/// `Ok` when both the import's own checks and the domain parser passed.
fn finish<T>(mut errors: ValidationErrors, parsed: Result<T, ValidationErrors>) -> Result<T, String> {
    match parsed {
        Ok(value) if errors.is_empty() => Ok(value),
        Ok(_) => Err(describe(&errors)),
        Err(more) => {
            errors.extend(more);
            Err(describe(&errors))
        }
    }
}

fn parse_user(fields: Map<String, Value>) -> Result<User, String> {
    let columns: UserColumns = columns(fields)?;
    let mut errors = ValidationErrors::new();
    require_external_id(&mut errors, &columns.external_id);
    // An absent required value reaches the parser as "" and is reported as empty.
    let parsed = User::parse(UserDraft {
        user_principal_name: columns.user_principal_name.unwrap_or_default(),
        display_name: columns.display_name.unwrap_or_default(),
        mail: columns.mail,
        on_premises_distinguished_name: columns.on_premises_distinguished_name,
        on_premises_sam_account_name: columns.on_premises_sam_account_name,
        on_premises_security_identifier: columns.on_premises_security_identifier,
        external_id: columns.external_id,
    });
    finish(errors, parsed)
}

fn parse_device(fields: Map<String, Value>) -> Result<DeviceImport, String> {
    let columns: DeviceColumns = columns(fields)?;
    let mut errors = ValidationErrors::new();
    require_external_id(&mut errors, &columns.external_id);
    let platform = match columns.platform.as_deref().map(str::parse::<Platform>) {
        Some(Ok(platform)) => Some(platform),
        Some(Err(error)) => {
            errors.push(
                "platform",
                "enum",
                format!("{error}; one of {}", platform_names()),
            );
            None
        }
        None => {
            errors.push(
                "platform",
                "required",
                format!("is required: one of {}", platform_names()),
            );
            None
        }
    };
    let azure_ad_device_id = match columns.azure_ad_device_id.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            errors.push("azureADDeviceId", "format", "must be a UUID");
            None
        }
        None => None,
    };
    // Without a platform the other fields are still checked, so every problem shows at once.
    let parsed = Device::parse(DeviceDraft {
        device_name: columns.device_name.unwrap_or_default(),
        platform: platform.unwrap_or(Platform::Windows10),
        os_version: columns.os_version,
        serial_number: columns.serial_number,
        imei: columns.imei,
        azure_ad_device_id,
        user_id: None,
        external_id: columns.external_id,
        meid: columns.meid,
        wifi_mac_address: columns.wifi_mac_address,
        fully_qualified_domain_name: columns.fully_qualified_domain_name,
    });
    finish(errors, parsed).map(|device| DeviceImport {
        device,
        user_external_id: columns.user_external_id,
    })
}

fn platform_names() -> String {
    Platform::ALL
        .iter()
        .map(|platform| platform.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_member(fields: Map<String, Value>) -> Result<MembershipImport, String> {
    let columns: MemberColumns = columns(fields)?;
    let mut errors = ValidationErrors::new();
    let mut required = |field: &str, value: Option<String>| match value {
        Some(value) if !value.trim().is_empty() => value,
        _ => {
            errors.push(field, "required", "must not be empty or blank");
            String::new()
        }
    };
    let row = MembershipImport {
        group_external_id: required("groupExternalId", columns.group_external_id),
        member_external_id: required("memberExternalId", columns.member_external_id),
    };
    errors.into_result(row).map_err(|errors| describe(&errors))
}

// ------------------------------------------------------------------ importing

/// Valid rows waiting for their batch's transaction.
enum Rows {
    Users(Vec<User>),
    Devices(Vec<DeviceImport>),
    Members(Vec<MembershipImport>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Users(rows) => rows.len(),
            Rows::Devices(rows) => rows.len(),
            Rows::Members(rows) => rows.len(),
        }
    }
}

#[derive(Debug, Default)]
struct Summary {
    created: u64,
    updated: u64,
    unchanged: u64,
    /// Line and reason.
    rejected: Vec<(u64, String)>,
}

impl Summary {
    fn record(&mut self, line: u64, outcome: RowOutcome) {
        match outcome {
            RowOutcome::Created => self.created += 1,
            RowOutcome::Updated => self.updated += 1,
            RowOutcome::Unchanged => self.unchanged += 1,
            RowOutcome::Rejected(reason) => self.rejected.push((line, reason)),
        }
    }

    fn counts(&self) -> String {
        format!(
            "created {}, updated {}, unchanged {}, rejected {}",
            self.created,
            self.updated,
            self.unchanged,
            self.rejected.len()
        )
    }

    fn print(&mut self) -> std::io::Result<()> {
        // Rows rejected on reading come before those of their batch: report in file order.
        self.rejected.sort_by_key(|(line, _)| *line);
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", self.counts())?;
        for (line, reason) in &self.rejected {
            writeln!(out, "line {line}: {reason}")?;
        }
        out.flush()
    }
}

struct Importer {
    batch_size: usize,
    progress: ProgressBar,
    pending: Rows,
    /// Line number of each pending row.
    pending_lines: Vec<u64>,
    /// First line of every `externalId` seen, to reject repeats across batches.
    seen: HashMap<String, u64>,
    summary: Summary,
    /// What each batch's audit entry names.
    run: ImportRun,
}

impl Importer {
    fn new(kind: ImportKind, batch_size: usize, progress: ProgressBar, run: ImportRun) -> Self {
        let pending = match kind {
            ImportKind::Users => Rows::Users(Vec::with_capacity(batch_size)),
            ImportKind::Devices => Rows::Devices(Vec::with_capacity(batch_size)),
            ImportKind::Members => Rows::Members(Vec::with_capacity(batch_size)),
        };
        Self {
            batch_size,
            progress,
            pending,
            pending_lines: Vec::with_capacity(batch_size),
            seen: HashMap::new(),
            summary: Summary::default(),
            run,
        }
    }

    async fn import(&mut self, store: &dyn Store, source: &mut Source, path: &Path) -> anyhow::Result<()> {
        while let Some(row) = source
            .next_row()
            .with_context(|| format!("reading {}", path.display()))?
        {
            if let Err(reason) = self.accept(row.line, row.fields) {
                self.summary.rejected.push((row.line, reason));
            }
            if self.pending.len() >= self.batch_size {
                self.flush(store).await?;
            }
            self.progress.set_position(source.position());
        }
        self.flush(store).await
    }

    /// Validates a row and queues it for its batch.
    fn accept(&mut self, line: u64, fields: Result<Map<String, Value>, String>) -> Result<(), String> {
        let fields = fields?;
        match &mut self.pending {
            Rows::Users(rows) => {
                let user = parse_user(fields)?;
                check_repeat(&mut self.seen, line, user.external_id.as_deref())?;
                rows.push(user);
            }
            Rows::Devices(rows) => {
                let device = parse_device(fields)?;
                check_repeat(&mut self.seen, line, device.device.external_id.as_deref())?;
                rows.push(device);
            }
            Rows::Members(rows) => rows.push(parse_member(fields)?),
        }
        self.pending_lines.push(line);
        Ok(())
    }

    /// Sends the pending rows as one batch and records their outcomes.
    async fn flush(&mut self, store: &dyn Store) -> anyhow::Result<()> {
        if self.pending_lines.is_empty() {
            return Ok(());
        }
        let outcomes = match &self.pending {
            Rows::Users(rows) => store.upsert_users(rows, &self.run).await,
            Rows::Devices(rows) => store.upsert_devices(rows, &self.run).await,
            Rows::Members(rows) => store.import_memberships(rows, &self.run).await,
        };
        let (first, last) = (
            self.pending_lines[0],
            self.pending_lines[self.pending_lines.len() - 1],
        );
        let outcomes = outcomes.with_context(|| {
            format!(
                "importing the batch of lines {first}–{last} (earlier batches are committed; \
                 re-running the import is safe)"
            )
        })?;
        if outcomes.len() != self.pending_lines.len() {
            bail!(
                "the store answered {} outcomes for {} rows",
                outcomes.len(),
                self.pending_lines.len()
            );
        }
        for (line, outcome) in self.pending_lines.drain(..).zip(outcomes) {
            self.summary.record(line, outcome);
        }
        match &mut self.pending {
            Rows::Users(rows) => rows.clear(),
            Rows::Devices(rows) => rows.clear(),
            Rows::Members(rows) => rows.clear(),
        }
        self.progress.set_message(self.summary.counts());
        Ok(())
    }
}

/// The first row with an `externalId` is imported; a later one is rejected
/// rather than silently overriding it (or being overridden).
fn check_repeat(seen: &mut HashMap<String, u64>, line: u64, external_id: Option<&str>) -> Result<(), String> {
    let Some(external_id) = external_id else {
        return Ok(());
    };
    match seen.get(external_id) {
        Some(first) => Err(format!(
            "externalId {external_id:?} already appears on line {first}; only that row is imported"
        )),
        None => {
            seen.insert(external_id.to_owned(), line);
            Ok(())
        }
    }
}
