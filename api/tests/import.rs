//! `scepter import` as an operator runs it: the real binary on the embedded
//! SQLite default, files with good and bad rows, the summary on stdout, the
//! exit status, and a second run that finds nothing to change.

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

use scepter_domain::directory::{Group, GroupType};
use scepter_storage::testing::audit_entry;
use scepter_storage::{DatabaseTarget, PageRequest, PoolSettings};

const BINARY: &str = env!("CARGO_BIN_EXE_scepter");

fn import(dir: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .arg("import")
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("SCEPTER_JWT_SECRET")
        .env_remove("SCEPTER_JWT_SECRET_FILE")
        .env_remove("SCEPTER_SQLITE_PATH")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run scepter import")
}

/// The summary's lines, after checking the exit status.
fn summary(output: &Output, status: i32) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(status),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

/// The line numbers of the `line L: reason` lines.
fn rejected_lines(summary: &[String]) -> Vec<u64> {
    summary[1..]
        .iter()
        .map(|line| {
            let number = line
                .strip_prefix("line ")
                .and_then(|rest| rest.split_once(':'))
                .unwrap()
                .0;
            number.parse().unwrap()
        })
        .collect()
}

const USERS_CSV: &str = "\
externalId,userPrincipalName,displayName,mail,onPremisesSamAccountName
u1,alice@contoso.com,Alice,alice@contoso.com,alice
u2,bob@contoso.com,Bob,,
u3,not-an-upn,Carol,,
,dave@contoso.com,Dave,,
u1,alice.again@contoso.com,Alice Again,,
u4,ALICE@contoso.com,Alice's twin,,
u5,erin@contoso.com,\"Erin, of \"\"Ops\"\"\",erin@contoso.com,erin
u6,frank@contoso.com,Frank
";

const DEVICES_JSONL: &str = r#"{"externalId":"d1","deviceName":"Alice's laptop","platform":"windows10","userExternalId":"u1"}
{"externalId":"d2","deviceName":"Phone","platform":"ios","userExternalId":"ghost"}

{"externalId":"d3","deviceName":"Shared kiosk","platform":"android","imei":"490154203237518"}
{"externalId":"d4","deviceName":"Amiga","platform":"amiga","imei":"12"}
not json
{"externalId":"d5","deviceName":"Tablet","platform":"ios","owner":"u2"}
{"externalId":"d6","deviceName":"Bob's Mac","platform":"macos","userExternalId":"u2","azureADDeviceId":"7b1c5a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"}
"#;

#[test]
fn users_and_devices_import_with_line_numbered_rejections_and_rerun_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("users.csv"), USERS_CSV).unwrap();
    fs::write(dir.path().join("devices.jsonl"), DEVICES_JSONL).unwrap();

    let users = summary(&import(dir.path(), &["users.csv"]), 2);
    assert_eq!(
        users[0], "created 3, updated 0, unchanged 0, rejected 5",
        "{users:#?}"
    );
    assert_eq!(rejected_lines(&users), [4, 5, 6, 7, 9], "{users:#?}");
    assert!(
        users[1].contains("userPrincipalName: must look like name@domain"),
        "{users:#?}"
    );
    assert!(users[2].contains("externalId: is required"));
    assert!(users[3].contains("externalId \"u1\" already appears on line 2"));
    assert!(users[4].contains("userPrincipalName \"ALICE@contoso.com\" is already used"));
    assert!(users[5].contains("has 3 cells, but the header has 5 columns"));
    assert!(
        dir.path().join("scepter.db").exists(),
        "the SQLite default in the working directory"
    );

    let devices = summary(&import(dir.path(), &["devices.jsonl"]), 2);
    assert_eq!(
        devices[0], "created 3, updated 0, unchanged 0, rejected 4",
        "{devices:#?}"
    );
    // Line 3 is blank: skipped, but counted.
    assert_eq!(rejected_lines(&devices), [2, 5, 6, 7], "{devices:#?}");
    assert!(devices[1].contains("unknown userExternalId \"ghost\""));
    assert!(devices[2].contains("platform: unknown platform `amiga`"));
    assert!(
        devices[2].contains("imei: must be 14 to 16 digits"),
        "every problem of the row at once"
    );
    assert!(devices[3].contains("invalid JSON"));
    assert!(devices[4].contains("unknown field `owner`"));

    // Nothing to change the second time; the bad rows are still reported.
    let users_again = summary(&import(dir.path(), &["users.csv"]), 2);
    assert_eq!(users_again[0], "created 0, updated 0, unchanged 3, rejected 5");
    assert_eq!(users_again[1..], users[1..]);
    let devices_again = summary(&import(dir.path(), &["devices.jsonl"]), 2);
    assert_eq!(devices_again[0], "created 0, updated 0, unchanged 3, rejected 4");

    // A corrected file: the fixed rows are created, an edited one updated, exit 0.
    let fixed = "\
externalId,userPrincipalName,displayName
u1,alice@contoso.com,Alice
u3,carol@contoso.com,Carol
u6,frank@contoso.com,Frank
";
    fs::write(dir.path().join("users-fixed.csv"), fixed).unwrap();
    let fixed = summary(&import(dir.path(), &["users-fixed.csv"]), 0);
    // u1 loses its mail and sAMAccountName: an upsert replaces the whole user.
    assert_eq!(fixed, ["created 2, updated 1, unchanged 0, rejected 0"]);
}

#[tokio::test]
async fn members_join_groups_by_external_id() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("users.csv"),
        "externalId,userPrincipalName,displayName\nu1,u1@contoso.com,One\nu2,u2@contoso.com,Two\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("devices.csv"),
        "externalId,deviceName,platform,userExternalId\nd1,Laptop,windows10,u1\n",
    )
    .unwrap();
    assert_eq!(
        summary(&import(dir.path(), &["users.csv"]), 0)[0],
        "created 2, updated 0, unchanged 0, rejected 0"
    );
    assert_eq!(
        summary(&import(dir.path(), &["devices.csv"]), 0)[0],
        "created 1, updated 0, unchanged 0, rejected 0"
    );

    // Groups come from the API; here straight from the store the binary uses.
    let target = DatabaseTarget::Sqlite {
        path: dir.path().join("scepter.db"),
    };
    let store = scepter_storage::connect(&target, PoolSettings::default())
        .await
        .unwrap();
    let group = |name: &str, group_type| Group {
        display_name: name.to_owned(),
        description: None,
        group_type,
        external_id: Some(name.to_owned()),
    };
    let staff = store
        .insert_group(&group("staff", GroupType::User), &audit_entry())
        .await
        .unwrap();
    store
        .insert_group(&group("laptops", GroupType::Device), &audit_entry())
        .await
        .unwrap();
    store.close().await;

    // Named members.jsonl, read as CSV because --format says so.
    let members = "\
groupExternalId,memberExternalId
staff,u1
staff,d1
laptops,d1
nowhere,u1
staff,u2
staff,
";
    fs::write(dir.path().join("members.jsonl"), members).unwrap();
    let first = summary(&import(dir.path(), &["--format", "csv", "members.jsonl"]), 2);
    assert_eq!(
        first[0], "created 3, updated 0, unchanged 0, rejected 3",
        "{first:#?}"
    );
    assert_eq!(rejected_lines(&first), [3, 5, 7]);
    assert!(first[1].contains("\"d1\" is a device, but group \"staff\" is a user group"));
    assert!(first[2].contains("unknown groupExternalId \"nowhere\""));
    assert!(first[3].contains("memberExternalId: must not be empty"));
    let again = summary(&import(dir.path(), &["--format", "csv", "members.jsonl"]), 2);
    assert_eq!(again[0], "created 0, updated 0, unchanged 3, rejected 3");

    let store = scepter_storage::connect(&target, PoolSettings::default())
        .await
        .unwrap();
    let page = store
        .list_members(staff.id, PageRequest::first(10))
        .await
        .unwrap();
    let mut ids: Vec<String> = page
        .items
        .into_iter()
        .filter_map(|member| member.external_id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["u1", "u2"]);
    store.close().await;
}

#[test]
fn problems_with_the_whole_file_stop_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("users.csv"),
        "externalId,upn,displayName\nu1,a@contoso.com,A\n",
    )
    .unwrap();
    let output = import(dir.path(), &["users.csv"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown column(s) upn"), "{stderr}");
    assert!(output.stdout.is_empty());

    fs::write(dir.path().join("people.csv"), "externalId\n").unwrap();
    let output = import(dir.path(), &["people.csv"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--kind"));

    fs::write(dir.path().join("devices.csv"), "externalId,deviceName\n").unwrap();
    let output = import(dir.path(), &["devices.csv"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("lacks the required column(s) platform"));

    let output = import(dir.path(), &["missing-users.csv"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !dir.path().join("scepter.db").exists(),
        "nothing opened for a file that is not there"
    );
}

/// `kill -9` in the middle of a bulk import leaves whole batches only: each
/// batch is one transaction, and SQLite's write-ahead log drops the one in
/// flight when the database is next opened. A re-run completes the import.
#[tokio::test]
async fn a_killed_import_leaves_whole_batches_and_a_rerun_completes_it() {
    const ROWS: usize = 100_000;
    const BATCH: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("externalId,userPrincipalName,displayName\n");
    for n in 0..ROWS {
        csv.push_str(&format!("k{n},user{n}@contoso.com,User {n}\n"));
    }
    fs::write(dir.path().join("users.csv"), csv).unwrap();

    let mut child = Command::new(BINARY)
        .args(["import", "users.csv", "--batch-size", &BATCH.to_string()])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("SCEPTER_SQLITE_PATH")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start scepter import");
    let database = dir.path().join("scepter.db");
    let count = || async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&database)
            .busy_timeout(std::time::Duration::from_secs(5));
        let mut connection = sqlx::ConnectOptions::connect(&options).await.ok()?;
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
            .fetch_one(&mut connection)
            .await
            .ok()
    };
    // Kill it once some batches are in, well before the end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if count().await.unwrap_or(0) >= (BATCH * 4) as i64 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL the import");
    child.wait().unwrap();

    let after_kill = count().await.expect("the database opens after the kill") as usize;
    assert!(after_kill < ROWS, "killed before the end ({after_kill} rows)");
    assert_eq!(
        after_kill % BATCH,
        0,
        "{after_kill} rows: a batch was half written"
    );

    let output = import(dir.path(), &["users.csv", "--batch-size", &BATCH.to_string()]);
    let lines = summary(&output, 0);
    assert!(
        lines[0].starts_with(&format!(
            "created {}, updated 0, unchanged {after_kill}",
            ROWS - after_kill
        )),
        "{lines:?}"
    );
    assert_eq!(count().await.unwrap() as usize, ROWS);
}
