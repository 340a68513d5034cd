//! What ohx prints: tables for people, one JSON document for programs, notices on stderr.
//!
//! Everything goes through `write_stdout`, which returns the I/O error instead of panicking, so a
//! closed pipe (`ohx connection list | head -1`) ends quietly and a full disk is an error.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

use crate::terminal_text;

/// How secret values are shown unless revealed.
pub const MASK: &str = "********";

pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// One JSON document, pretty-printed, with a trailing newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_stdout(&text)
}

/// How the current command prints: what `--quiet` and `--json` asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Printer {
    pub quiet: bool,
    pub json: bool,
}

impl Printer {
    /// A line on stderr for the person at the keyboard; silenced by `--quiet`.
    pub fn notice(&self, line: &str) {
        if !self.quiet {
            eprintln!("{}", terminal_text::multiline(line));
        }
    }

    /// What a write did: with `--json` the changed object as one document (even with
    /// `--quiet`, which silences messages, not data), else `line` as [`Printer::done`] prints it.
    pub fn changed(&self, object: &serde_json::Value, line: &str) -> Result<()> {
        if self.json {
            return json(object);
        }
        self.done(line)
    }

    /// A message on stdout that confirms a write (silenced by `--quiet`).
    pub fn done(&self, line: &str) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        write_stdout(&format!("{}\n", terminal_text::multiline(line)))
    }
}

/// A warning about safety on stderr; printed even with `--quiet`.
pub fn warning(line: &str) {
    eprintln!("warning: {}", terminal_text::multiline(line));
}

/// A table: boxed and fitted to the terminal's width on a terminal, plain aligned columns otherwise.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    let mut table = Table::new();
    if std::io::stdout().is_terminal() {
        table
            .load_preset(presets::UTF8_HORIZONTAL_ONLY)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
    }
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(
            row.iter()
                .map(|cell| terminal_text::inline(cell).into_owned()),
        );
    }
    if !std::io::stdout().is_terminal() {
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
            column.set_cell_alignment(CellAlignment::Left);
        }
    }
    let mut text: String = table
        .lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect();
    if text.is_empty() {
        text.push('\n');
    }
    write_stdout(&text)
}

/// A JSON array written item by item, so a long list never sits in memory whole. `body` calls
/// the sink once per item.
pub fn json_array(
    body: impl FnOnce(&mut dyn FnMut(serde_json::Value) -> Result<()>) -> Result<()>,
) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut first = true;
    out.write_all(b"[")?;
    body(&mut |item| {
        let text = serde_json::to_string_pretty(&item)?;
        out.write_all(if first { b"\n  " } else { b",\n  " })?;
        out.write_all(text.replace('\n', "\n  ").as_bytes())?;
        first = false;
        Ok(())
    })?;
    out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
    out.flush()?;
    Ok(())
}

/// Plain aligned columns written line by line (the caller knows the widths from a first pass),
/// for output to programs and for lists too long for a boxed table.
pub fn plain_columns(
    header: &[&str],
    widths: &[usize],
    body: impl FnOnce(&mut dyn FnMut(&[String]) -> Result<()>) -> Result<()>,
) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = String::new();
    write_columns(&mut out, &mut line, &mut header.iter().copied(), widths)?;
    body(&mut |cells| {
        write_columns(
            &mut out,
            &mut line,
            &mut cells.iter().map(String::as_str),
            widths,
        )
    })?;
    out.flush()?;
    Ok(())
}

fn write_columns(
    out: &mut impl Write,
    line: &mut String,
    cells: &mut dyn Iterator<Item = &str>,
    widths: &[usize],
) -> Result<()> {
    line.clear();
    for (cell, width) in cells.zip(widths) {
        let cell = terminal_text::inline(cell);
        line.push_str(&cell);
        line.extend(std::iter::repeat_n(
            ' ',
            width.saturating_sub(cell.chars().count()) + 2,
        ));
    }
    out.write_all(line.trim_end().as_bytes())?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Whether stdout is a terminal (a person reading) rather than a pipe or file.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Label-value pairs, one per line, for `show` commands.
pub fn details(pairs: &[(&str, String)]) -> Result<()> {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (label, value) in pairs {
        let (label, value) = (
            terminal_text::inline(label),
            terminal_text::multiline(value),
        );
        let mut lines = value.split('\n');
        let first = lines.next().unwrap_or_default();
        text.push_str(&format!("{label:<width$}  {first}\n"));
        for more in lines {
            text.push_str(&format!("{:<width$}  {more}\n", ""));
        }
    }
    write_stdout(&text)
}
