//! The reliability suite: every line of `RELIABILITY.md` ("What ohx must survive") and the tests
//! that prove it, each running the real `ohx` binary. Names are paths in this test binary
//! (`cargo test --test ohx NAME`): tests that were already there elsewhere, and the ones this module
//! adds in `storage`, `secrets` and `input` (this file only holds their shared helpers).
//!
//! Tests marked *(MAC)* prove record authentication (a MAC over each connection's whole record,
//! keyed from the workspace key, in `connections.mac`). Tests marked *(found a bug)* failed when
//! they were written; the bug is fixed and they guard against its return.
//!
//! Tests needing root or a tool (a tmpfs mount, `chattr +i`, `setpriv`, `prlimit`, `strace`) say
//! why when they cannot run, and fail instead when `CI` is set; `.ci/setup` installs the tools.
//!
//! | RELIABILITY.md | tests |
//! |---|---|
//! | **Storage** | |
//! | Every write command is one `BEGIN IMMEDIATE` transaction; acknowledged only after COMMIT. | `reliability::storage::kill_9_at_random_moments_of_connection_add_never_leaves_a_half_written_connection` (every add that exited 0 is there; a killed one is whole or absent), `reliability::storage::kill_9_at_random_moments_of_member_remove_never_mixes_old_and_new_keys` (an acknowledged removal is there), `reliability::storage::a_full_disk_fails_writes_cleanly_and_keeps_the_store` (a write failing mid-transaction leaves nothing), `foundation::two_admins_demoting_each_other_at_once_leave_exactly_one_admin` (check and write in one transaction) |
//! | 16 processes adding 40 connections each at once end with 640 connections, no error. | `reliability::storage::sixteen_processes_adding_forty_connections_each_end_with_640` *(found a bug)*, `reliability::storage::a_store_growing_in_a_checkpoint_is_never_reported_truncated` *(found a bug)*, `foundation::sixteen_processes_creating_workspaces_at_once_all_succeed`, `foundation::concurrent_first_runs_all_succeed_with_one_identity` |
//! | `kill -9` at random moments of a write loop never leaves a half-written connection, and `PRAGMA integrity_check` stays `ok`. | `reliability::storage::kill_9_at_random_moments_of_connection_add_never_leaves_a_half_written_connection` (60 kills), `reliability::storage::kill_9_at_random_moments_of_member_remove_never_mixes_old_and_new_keys` (50 kills of a key rotation over 30 secrets), `reliability::secrets::a_writer_killed_mid_transaction_leaves_no_canary_in_the_store_files` (20 kills) |
//! | Open with `journal_mode=WAL`, | `reliability::storage::the_store_is_in_wal_mode` |
//! | `synchronous=FULL`, | `reliability::storage::a_commit_is_synced_to_the_wal_before_ohx_acknowledges_it` (strace: the WAL is synced at commit) |
//! | `foreign_keys=ON`, | `reliability::storage::deleting_a_connection_or_a_workspace_leaves_no_orphan_rows` (deletes rely on ON DELETE CASCADE) |
//! | `secure_delete=ON`, | `reliability::storage::deleted_values_are_wiped_from_the_store_file` (with a control showing the text stays without it) |
//! | `trusted_schema=OFF`; | `reliability::storage::a_planted_trigger_cannot_call_unsafe_functions` (with a control showing the trigger runs in a trusted schema) |
//! | check `application_id` and `user_version` on every open. | `reliability::storage::a_sqlite_file_that_is_not_an_ohx_store_is_refused_untouched`, `reliability::storage::a_store_whose_application_id_changed_in_the_wal_is_refused_untouched`, `foundation::a_store_from_a_newer_ohx_is_refused_and_left_byte_for_byte_untouched`, `foundation::a_newer_store_whose_version_is_still_in_the_wal_is_left_untouched` |
//! | A store from a newer ohx is refused and left byte-for-byte untouched. | `foundation::a_store_from_a_newer_ohx_is_refused_and_left_byte_for_byte_untouched`, `foundation::a_newer_store_whose_version_is_still_in_the_wal_is_left_untouched` |
//! | A zero-byte, truncated or garbage file is an error (exit 6), never a panic and never silently a new empty store. | `foundation::an_empty_store_file_is_refused_and_stays_empty`, `foundation::a_truncated_store_is_refused_without_a_panic`, `foundation::a_garbage_store_file_is_refused`, `foundation::an_explicit_store_that_does_not_exist_is_refused_and_not_created` |
//! | Disk full [...]: the transaction rolls back, the store stays intact, the error says what happened. | `reliability::storage::a_full_disk_fails_writes_cleanly_and_keeps_the_store` (a tmpfs filled to 9 levels, `add` and `rotate-key` at each; falls back to a file size limit where mounting is impossible), `reliability::storage::a_file_size_limit_fails_writes_cleanly_and_keeps_the_store` (EFBIG from `prlimit --fsize`), `reliability::storage::a_completely_full_disk_is_reported_as_full` *(found a bug)* |
//! | [Disk full] or a read-only file: [same]. | `reliability::storage::a_read_only_store_file_refuses_writes_and_says_so` (chmod 400, and `chattr +i` as root), `reliability::storage::a_read_only_folder_refuses_writes_and_keeps_the_store`, `reliability::storage::a_store_made_writable_again_accepts_writes_from_its_owner` *(found a bug)*, `reliability::storage::a_read_only_folder_is_named_in_the_error` *(found a bug)* |
//! | The store, its WAL and SHM files, and the identity are never readable by group or others (test under `umask 022` and `umask 000`); | `foundation::store_wal_shm_and_identity_stay_private_under_any_umask`, `foundation::first_run_creates_private_store_and_identity_and_says_so_once`, `foundation::a_store_readable_by_others_is_refused`, `foundation::an_identity_readable_by_others_is_refused`, `credentials::run::run_hands_the_gcs_key_as_a_private_file_removed_when_the_child_ends` (under `umask 000`) |
//! | a symlink at either path is refused. | `foundation::a_store_behind_a_symlink_is_refused`, `foundation::an_identity_behind_a_symlink_is_refused` |
//! | **Secrets** | |
//! | Random canary secrets never appear in the database, `-wal`, `-shm`, journal or temp files, in plain, hex or base64 form, | `connections::canary_secrets_never_reach_the_store_files_in_any_form` (proved able to find them by `connections::the_canary_search_finds_what_is_there`), `reliability::secrets::a_writer_killed_mid_transaction_leaves_no_canary_in_the_store_files` (its search checked by `reliability::the_canary_forms_are_found_in_encoded_text`), `credentials::run::run_hands_the_gcs_key_as_a_private_file_removed_when_the_child_ends`, `credentials::run::run_sweeps_a_key_file_left_by_a_dead_ohx_and_keeps_a_live_ones`, `credentials::run::run_without_a_gcs_connection_also_sweeps_stale_key_files` |
//! | nor on stderr, | `connections::canary_secrets_never_appear_on_stderr_of_any_command`, `credentials::tricky::*` (every export), `foundation::a_wrong_passphrase_is_a_key_error`, `reliability::secrets::a_forged_ciphertext_sealed_to_the_workspace_recipient_is_rejected` |
//! | nor in `/proc/<pid>/cmdline` of any ohx process. | `connections::a_secret_from_stdin_is_not_on_the_command_line_of_the_running_process`, `connections::a_literal_secret_on_the_command_line_is_refused_without_showing_it` |
//! | A ciphertext copied from another row, connection or workspace is rejected (exit 5) and prints nothing; | `connections::a_ciphertext_copied_from_another_field_is_rejected`, `connections::a_ciphertext_copied_from_another_connection_is_rejected`, `connections::a_ciphertext_moved_from_another_workspace_is_rejected`, `reliability::secrets::a_ciphertext_from_before_a_key_rotation_put_back_is_rejected`, `reliability::secrets::a_secret_rolled_back_to_its_ciphertext_before_an_edit_is_rejected` *(MAC)*, `reliability::secrets::a_forged_ciphertext_sealed_to_the_workspace_recipient_is_rejected` *(MAC)*, `reliability::secrets::a_plain_field_changed_with_sql_is_rejected` *(MAC)*, `credentials::run::run_starts_nothing_when_a_connection_fails_to_decrypt` |
//! | so is a truncated or bit-flipped ciphertext. | `connections::a_truncated_ciphertext_is_rejected`, `connections::a_bit_flipped_ciphertext_is_rejected`, `credentials::output::env_prints_nothing_when_a_later_connection_fails_to_decrypt` |
//! | A viewer, | `connections::a_viewer_cannot_decrypt_stored_secrets_with_age`, `foundation::a_viewer_holds_no_wrapped_key` |
//! | a removed member | `connections::a_removed_editor_cannot_decrypt_the_stored_secret_with_age`, `foundation::removing_an_editor_rotates_the_key_out_of_their_reach`, `foundation::demoting_an_editor_to_viewer_rotates_the_key`, `reliability::secrets::removing_a_member_re_encrypts_every_secret_of_the_workspace_and_no_other` |
//! | and a stranger's identity cannot decrypt anything, even by reading the SQLite file directly with the age library. | `reliability::secrets::a_strangers_identity_opens_nothing_in_the_store` (a registered non-member and a never-registered identity against every ciphertext and wrapped key), `foundation::a_stranger_is_refused_everything_and_changes_nothing` |
//! | After a member is removed, every secret is under a new workspace key | `reliability::secrets::removing_a_member_re_encrypts_every_secret_of_the_workspace_and_no_other`, `foundation::removing_an_editor_rotates_the_key_out_of_their_reach`, `reliability::storage::kill_9_at_random_moments_of_member_remove_never_mixes_old_and_new_keys` |
//! | and the affected connections are marked for rotation. | `connections::removing_an_editor_marks_connections_with_secrets_for_rotation`, `connections::editing_the_secret_clears_the_rotation_mark`, `connections::editing_only_plain_fields_keeps_the_rotation_mark`, `reliability::secrets::removing_a_member_re_encrypts_every_secret_of_the_workspace_and_no_other` (that workspace's only), `reliability::storage::kill_9_at_random_moments_of_member_remove_never_mixes_old_and_new_keys` (marks come with the new key, never apart) |
//! | **Input** | |
//! | Secrets are refused on argv; | `connections::a_literal_secret_on_the_command_line_is_refused_without_showing_it`, `connections::a_secret_given_with_set_is_refused_without_showing_it`, `connections::a_secret_custom_field_cannot_be_overwritten_with_set` |
//! | prompts never hang without a terminal; | `reliability::input::every_command_that_may_prompt_ends_at_once_with_stdin_from_dev_null`, `reliability::input::every_command_that_may_prompt_ends_at_once_with_a_silent_open_stdin` (12 commands: type, fields, secrets, confirmations, new and existing passphrases), `connections::add_never_waits_for_input_without_a_terminal`, `connections::add_without_a_terminal_names_every_missing_flag_at_once`, `connections::delete_without_a_terminal_and_without_yes_deletes_nothing`, `foundation::deleting_without_a_terminal_needs_yes`, `foundation::a_passphrase_identity_without_terminal_or_variable_fails_at_once` |
//! | empty stdin for a required secret is an error. | `connections::an_empty_secret_is_refused` (stdin from /dev/null, an empty pipe, a lone newline; an empty variable and file) |
//! | Values with `' " $ \` ` \ ! # * ; & \|`, globs, CR, LF, tabs, trailing newlines, leading dashes and non-ASCII text round-trip exactly through every export format in dash, bash, zsh, fish and python-dotenv, and through `ohx run -- env -0`. | `credentials::tricky::tricky_values_round_trip_through_sh_in_dash`, `credentials::tricky::tricky_values_round_trip_through_sh_in_bash`, `credentials::tricky::tricky_values_round_trip_through_sh_in_zsh`, `credentials::tricky::tricky_values_round_trip_through_fish`, `credentials::tricky::tricky_values_round_trip_through_python_dotenv`, `credentials::tricky::tricky_values_round_trip_through_json`, `credentials::tricky::tricky_values_round_trip_through_run_into_the_childs_environment`, `credentials::tricky::powershell_output_single_quotes_every_value_with_quotes_doubled`, `reliability::input::tricky_plain_values_given_with_set_round_trip_through_show_env_sh_and_run` (plain values through argv) |
//! | NUL and invalid UTF-8 are refused at input. | `connections::a_nul_byte_in_a_secret_is_refused_naming_the_field`, `connections::invalid_utf8_in_a_secret_is_refused_naming_the_field`, `reliability::input::invalid_utf8_in_plain_arguments_is_refused_and_stores_nothing` |
//! | A multi-line GCS service-account key survives every path (add from file, env, run's temp file). | `connections::a_multi_line_gcs_key_from_a_file_comes_back_byte_for_byte`, `connections::a_multi_line_gcs_key_from_stdin_keeps_every_line_and_the_trailing_newline`, `reliability::input::a_multi_line_gcs_key_from_an_environment_variable_survives_get_env_and_runs_key_file`, `credentials::output::get_keeps_a_multi_line_key_exactly`, `credentials::run::run_hands_the_gcs_key_as_a_private_file_removed_when_the_child_ends`, `credentials::sdk::the_openhexa_sdk_reads_every_field_under_run` |
//! | Values too large for an environment variable (over 128 KiB) give a clear error naming the field before `run` tries to start the child. | `credentials::run::run_refuses_a_value_over_128_kib_naming_the_field_before_starting_the_child`, `credentials::run::run_passes_a_value_exactly_at_the_kernel_limit` |
//! | Output is all or nothing: when a later connection fails, nothing is printed for the earlier ones, so `eval "$(...)"` never applies half a result. | `credentials::output::env_prints_nothing_when_a_later_connection_fails_to_decrypt` (every format), `credentials::output::env_prints_nothing_when_a_later_connection_does_not_exist`, `credentials::output::two_connections_giving_one_name_different_values_are_an_error_naming_both`, `credentials::run::run_starts_nothing_when_a_connection_fails_to_decrypt`, `reliability::input::eval_of_a_failed_env_sets_no_variable` |
//! | `ohx connection list \| head -1` exits 0 quietly; | `reliability::input::connection_commands_piped_into_head_exit_zero_quietly`, `foundation::a_closed_pipe_ends_quietly_with_status_zero` |
//! | writing to a full device is an error, not a panic. | `reliability::input::every_read_command_writing_to_a_full_device_fails_cleanly`, `foundation::writing_to_a_full_device_is_an_error_not_a_panic`, `reliability::input::help_and_version_written_to_a_full_device_are_an_error` *(found a bug)* |
//! | (preamble) Tests that need a real component install or start it from `.ci/run`. | `.ci/setup` installs the shells, PostgreSQL, Python, tmux, and for this module strace, e2fsprogs (`chattr`) and util-linux (`mount`, `setpriv`, `prlimit`) |

mod input;
mod secrets;
mod storage;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::connection_add;
use crate::harness::{random_bytes, Cmd, Env, Outcome};
use crate::store_probe::{base64, contains, leaked_forms};

/// The workspace the reliability tests work in.
pub const WS: &str = "ws";

// ---------------------------------------------------------------------------------------------
// People and connections
// ---------------------------------------------------------------------------------------------

/// `connection add postgresql` of `slug` (in the only workspace unless `-w` is added), its
/// password read from `$PW`.
pub fn add_postgresql(env: &Env, slug: &str, password: &str) -> Cmd {
    let plain = [
        ("host", "db.example.org"),
        ("username", "etl"),
        ("db_name", "dwh"),
    ];
    connection_add(env, "postgresql", slug, &plain)
        .args(["--secret", "password=env:PW", "-q"])
        .env("PW", password)
}

/// `connection add custom` of `slug` (in the only workspace unless `-w` is added): a plain `url`
/// and a secret `token` read from `$T`.
pub fn add_custom(env: &Env, slug: &str, token: &str) -> Cmd {
    connection_add(env, "custom", slug, &[("url", "https://example.org")])
        .args(["--secret", "token=env:T", "-q"])
        .env("T", token)
}

/// `connection env IDS... --format json` as alice, as names to values.
#[track_caller]
pub fn env_json(env: &Env, ids: &[String]) -> BTreeMap<String, String> {
    let out = env
        .ohx()
        .args(["connection", "env", "--format", "json", "-w", WS])
        .args(ids)
        .ok();
    serde_json::from_value(out.json())
        .unwrap_or_else(|e| panic!("env --format json is not an object of strings: {e}\n{out}"))
}

/// The prefix of a connection's variables (`my-db` gives `MY_DB`).
pub fn prefix(slug: &str) -> String {
    slug.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Processes, randomness, skipping
// ---------------------------------------------------------------------------------------------

/// A uniformly random integer below `n` (n > 0).
pub fn random_below(n: u64) -> u64 {
    let bytes: [u8; 8] = random_bytes(8).try_into().expect("8 bytes");
    u64::from_le_bytes(bytes) % n.max(1)
}

/// A random duration in `[0, max)`, with microsecond resolution.
pub fn random_delay(max: Duration) -> Duration {
    Duration::from_micros(random_below(max.as_micros().max(1) as u64))
}

/// How a command sent SIGKILL after a delay ended.
pub enum Killed {
    /// The kill arrived while it ran.
    Yes,
    /// It had already finished; its outcome.
    No(Outcome),
}

/// SIGKILL, as `kill -9` sends it: 128 + 9.
pub const KILLED_STATUS: i32 = 128 + 9;

/// Starts `cmd`, sends it SIGKILL after `delay` and reaps it.
pub fn kill_after(cmd: Cmd, delay: Duration) -> Killed {
    let described = cmd.describe();
    let mut child = cmd.spawn();
    std::thread::sleep(delay);
    // An already finished (not yet reaped) child ignores the signal.
    let _ = child.kill();
    let out = Outcome::wait(child, &described);
    if out.status == KILLED_STATUS {
        Killed::Yes
    } else {
        Killed::No(out)
    }
}

/// How long the command `make` builds typically runs: the median of `runs` runs (each must
/// succeed), plus a quarter. Random kill delays are drawn below it, so that most kills land while
/// the command runs and a few after it finished; a maximum would let one slow run (the machine
/// is busy with other tests) send most kills after the end.
#[track_caller]
pub fn typical_run(runs: usize, mut make: impl FnMut(usize) -> Cmd) -> Duration {
    let mut took: Vec<Duration> = (0..runs)
        .map(|i| {
            let cmd = make(i);
            let started = Instant::now();
            cmd.ok();
            started.elapsed()
        })
        .collect();
    took.sort();
    took.get(took.len() / 2)
        .map_or(Duration::from_millis(50), |median| *median * 5 / 4)
}

/// Reports why `test` cannot run here. Under `CI` that is a failure: CI runs as root on a machine
/// `.ci/setup` prepared, so a skip there would hide a gap.
#[track_caller]
pub fn cannot_run(test: &str, reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run here: {reason}"
    );
    eprintln!("skipping {test}: {reason}");
}

/// Runs a program that is not ohx (mount, chattr, ...), returning stderr when it fails.
pub fn system(program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The canary search of `store_probe`, checked
// ---------------------------------------------------------------------------------------------

#[test]
fn the_canary_forms_are_found_in_encoded_text() {
    let canary = "canary-00112233445566778899aabb";
    for skip in 0..3 {
        let mut blob = b"prefix".to_vec();
        blob.extend(std::iter::repeat_n(b'y', skip));
        blob.extend_from_slice(canary.as_bytes());
        blob.extend_from_slice(b"suffix");
        let encoded = base64(&blob);
        assert!(
            leaked_forms(canary)
                .iter()
                .any(|(_, needle)| contains(encoded.as_bytes(), needle)),
            "alignment {skip}: {encoded}"
        );
    }
}
