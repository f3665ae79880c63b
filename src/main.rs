//! `ipgeo`: build, query, inspect and verify ipgeo tables.

use std::io::{BufRead, BufWriter, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use ipgeo::build::{self, BuildOptions};
use ipgeo::import::{self, InputSpec};
use ipgeo::table::{MappedTable, Table};

#[derive(Parser)]
#[command(
    name = "ipgeo",
    version,
    about = "Build, query, inspect and verify ipgeo IP geolocation tables"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compile one or more source databases into a table.
    ///
    /// INPUT is `[NAME=]PATH[?key=value&...]`. Formats: MaxMind DB (.mmdb),
    /// ip2region (.xdb), IPIP.net ipdb (.ipdb), CSV ranges (.csv), CIDR lists
    /// (.txt). Earlier inputs answer first, field group by field group; a
    /// build spec (--spec) gives per-field, per-country priorities.
    Build {
        /// The table to write (written to a temporary file, then renamed).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// A build spec (TOML): sources, languages and per-field, per-country
        /// priorities (see the README). Replaces INPUTs.
        #[arg(long, conflicts_with = "inputs")]
        spec: Option<PathBuf>,
        /// Languages to keep for names, primary first [default: en,zh-CN].
        #[arg(long, value_delimiter = ',')]
        lang: Option<Vec<String>>,
        /// A description stored in the metadata.
        #[arg(long)]
        description: Option<String>,
        /// Attribution the data's licence requires; the HTTP API adds it to
        /// every response.
        #[arg(long)]
        attribution: Option<String>,
        /// Candidate ranges per index bucket: smaller is faster and larger.
        #[arg(long, default_value_t = 2.0)]
        bucket_target: f64,
        /// Build time to record, Unix seconds (default: now).
        #[arg(long)]
        build_time: Option<u64>,
        /// Also write the build report as JSON to this file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// No progress display.
        #[arg(short, long)]
        quiet: bool,
        /// The sources.
        #[arg(required_unless_present = "spec")]
        inputs: Vec<String>,
    },
    /// Look addresses up; prints one JSON object per address.
    ///
    /// Addresses come from the arguments, or from standard input (one per
    /// line) when there are none. Exits with 1 if any address was malformed.
    Lookup {
        /// The table.
        #[arg(short = 'd', long = "db")]
        table: PathBuf,
        /// Add a `names` object with every stored language.
        #[arg(long)]
        all_languages: bool,
        /// Add a `sources` object: which source answered each field group.
        #[arg(long)]
        explain: bool,
        /// Addresses.
        addrs: Vec<String>,
    },
    /// Print a table's metadata and sizes.
    Info {
        /// The table.
        table: PathBuf,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a table in depth; optionally compare it with source MMDBs.
    Verify {
        /// The table.
        table: PathBuf,
        /// MaxMind DB files whose answers the table must reproduce.
        #[arg(long)]
        against: Vec<PathBuf>,
        /// Random addresses per family to compare with each `--against` file.
        #[arg(long, default_value_t = 100_000)]
        samples: usize,
        /// Seed for the random addresses.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`ipgeo info T | head`), like other
    // Unix tools, instead of panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE (13) is sound at
    // any point; no handler code runs.
    unsafe {
        signal(13, 0);
    }
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Build {
            output,
            spec,
            lang,
            description,
            attribution,
            bucket_target,
            build_time,
            report,
            quiet,
            inputs,
        } => cmd_build(
            output,
            spec,
            BuildOptions {
                languages: lang.unwrap_or_default(),
                policy: None,
                bucket_target,
                description,
                attribution,
                build_time,
            },
            report,
            quiet,
            &inputs,
        ),
        Cmd::Lookup {
            table,
            all_languages,
            explain,
            addrs,
        } => cmd_lookup(&table, all_languages, explain, &addrs),
        Cmd::Info { table, json } => cmd_info(&table, json),
        Cmd::Verify {
            table,
            against,
            samples,
            seed,
        } => cmd_verify(&table, &against, samples, seed),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ipgeo: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res = Result<ExitCode, String>;

/// A progress display on standard error, shown only on a terminal.
struct Progress(indicatif::ProgressBar);

impl Progress {
    fn new(quiet: bool) -> Progress {
        let pb = if quiet {
            indicatif::ProgressBar::hidden()
        } else {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        };
        Progress(pb)
    }
    fn stage(&self, msg: String) {
        self.0.set_message(msg);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[allow(clippy::too_many_arguments)]
fn cmd_build(
    output: Option<PathBuf>,
    spec: Option<PathBuf>,
    mut opts: BuildOptions,
    report_path: Option<PathBuf>,
    quiet: bool,
    inputs: &[String],
) -> Res {
    let t0 = Instant::now();
    let mut specs: Vec<InputSpec> = Vec::new();
    let mut output = output;
    if let Some(path) = spec {
        let spec = ipgeo::build::spec::Spec::load(&path)?;
        opts.policy = Some(spec.policy()?);
        if opts.languages.is_empty() {
            opts.languages = spec.languages.clone().unwrap_or_default();
        }
        opts.description = opts.description.or(spec.description.clone());
        opts.attribution = opts.attribution.or(spec.attribution.clone());
        output = output.or(spec.output.clone());
        specs = spec.inputs();
    } else {
        for input in inputs {
            specs.push(InputSpec::parse(input)?);
        }
    }
    if opts.languages.is_empty() {
        opts.languages = vec!["en".into(), "zh-CN".into()];
    }
    let output = output.ok_or("no output: give -o OUT (or `output` in the spec)")?;
    let progress = Progress::new(quiet);
    let mut sources = Vec::with_capacity(specs.len());
    for spec in &specs {
        progress.stage(format!("importing {}", spec.path.display()));
        sources.push(import::import(spec, &opts.languages).map_err(|e| e.to_string())?);
    }
    progress.stage("merging and writing".into());
    let (bytes, report) = build::build(&sources, &opts).map_err(|e| e.to_string())?;
    build::write_atomic(&output, &bytes).map_err(|e| e.to_string())?;
    drop(progress);
    let secs = t0.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    let s = &report.stats;
    eprintln!(
        "built {}: {} IPv4 + {} IPv6 ranges from {} + {} networks, {} records, {} strings, {:.1} MB in {:.1} s (peak memory {} MB)",
        output.display(),
        s.v4_ranges,
        s.v6_ranges + s.v6_low,
        report.input_intervals.0,
        report.input_intervals.1,
        s.records,
        s.strings,
        s.size as f64 / 1e6,
        secs,
        peak.map_or("?".into(), |k| (k / 1024).to_string()),
    );
    if report.coverage_cn.len() > 2 {
        eprintln!("Chinese IPv4 addresses (share of each source's CN addresses):");
        eprintln!(
            "  {:<12} {:>13} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "source", "CN addresses", "province", "code", "city", "code", "district", "code"
        );
        for r in &report.coverage_cn {
            let p = |x: f64| format!("{:.2}%", 100.0 * x);
            eprintln!(
                "  {:<12} {:>13} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                r.source,
                r.addresses,
                p(r.province),
                p(r.province_code),
                p(r.city),
                p(r.city_code),
                p(r.district),
                p(r.district_code)
            );
        }
    }
    if let Some(p) = report_path {
        let json = serde_json::json!({
            "output": output.display().to_string(),
            "seconds": secs,
            "peak_rss_kib": peak,
            "report": report,
        });
        std::fs::write(&p, serde_json::to_vec_pretty(&json).unwrap_or_default())
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn open(path: &std::path::Path) -> Result<MappedTable, String> {
    Table::open_file(path).map_err(|e| e.to_string())
}

fn cmd_lookup(path: &std::path::Path, all_languages: bool, explain: bool, addrs: &[String]) -> Res {
    let table = open(path)?;
    let langs = table.meta().languages.clone();
    let source_names: Vec<String> = table
        .meta()
        .json
        .get("sources")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .map(|s| {
                    s.get("name")
                        .and_then(|n| n.as_str())
                        .unwrap_or("?")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut bad = false;
    let mut one =
        |text: &str, out: &mut BufWriter<std::io::StdoutLock<'_>>| -> Result<(), String> {
            let text = text.trim();
            let mut obj = serde_json::Map::new();
            obj.insert("ip".into(), text.into());
            match text.parse::<IpAddr>() {
                Err(_) => {
                    bad = true;
                    obj.insert("error".into(), "invalid address".into());
                }
                Ok(ip) => match table.lookup(ip) {
                    None => {
                        obj.insert("error".into(), "not found".into());
                    }
                    Some(hit) => {
                        obj.insert("network".into(), hit.network.to_string().into());
                        obj.extend(hit.record.to_json_with(&langs, all_languages));
                        if explain {
                            let from_v4 = match ip {
                                IpAddr::V4(_) => true,
                                IpAddr::V6(a) => table.is_alias(u128::from(a)),
                            };
                            let family = if from_v4 { "v4" } else { "v6" };
                            let only = table
                                .meta()
                                .json
                                .get("family_source")
                                .and_then(|f| f.get(family))
                                .and_then(|v| v.as_str());
                            obj.insert(
                                "sources".into(),
                                explain_sources(&hit.record, &source_names, only).into(),
                            );
                        }
                    }
                },
            }
            serde_json::to_writer(&mut *out, &obj).map_err(|e| e.to_string())?;
            out.write_all(b"\n").map_err(|e| e.to_string())
        };
    if addrs.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| format!("stdin: {e}"))?;
            if line.trim().is_empty() {
                continue;
            }
            one(&line, &mut out)?;
        }
    } else {
        for a in addrs {
            one(a, &mut out)?;
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(if bad {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Which source answered each field group of a record: from its provenance
/// word, or, in a family only one source covers, that source.
fn explain_sources(
    rec: &ipgeo::table::Record<'_>,
    names: &[String],
    only: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    use ipgeo::build::merge::{provenance_of, Target, GROUPS, NETWORK};
    let mut out = serde_json::Map::new();
    let word = match rec.get(ipgeo::Field::Sources) {
        Some(ipgeo::table::ValueRef::U32(w)) => Some(w),
        _ => None,
    };
    let targets = (0..GROUPS.len())
        .map(|i| (GROUPS[i].name, Target::Group(i), GROUPS[i].fields.to_vec()))
        .chain(
            NETWORK
                .iter()
                .map(|f| (f.name(), Target::Network(*f), vec![*f])),
        );
    for (name, target, fields) in targets {
        if !fields.iter().any(|f| rec.get(*f).is_some()) {
            continue;
        }
        let src = match (word, only) {
            (Some(w), _) => provenance_of(w, target).and_then(|i| names.get(i).cloned()),
            (None, Some(o)) => Some(o.to_string()),
            (None, None) if names.len() == 1 => names.first().cloned(),
            (None, None) => None,
        };
        out.insert(
            name.to_string(),
            src.map_or(serde_json::Value::Null, serde_json::Value::from),
        );
    }
    out
}

fn cmd_info(path: &std::path::Path, json: bool) -> Res {
    let table = open(path)?;
    let m = table.meta();
    let (n4, n6) = table.range_counts();
    let columns: Vec<String> = table
        .columns()
        .iter()
        .map(|c| match (c.field, c.lang) {
            (Some(f), Some(l)) => format!(
                "{}@{}",
                f.name(),
                m.languages.get(usize::from(l)).map_or("?", |s| s)
            ),
            (Some(f), None) => f.name().to_string(),
            (None, _) => format!("field#{}", c.field_id),
        })
        .collect();
    if json {
        let v = serde_json::json!({
            "path": path.display().to_string(),
            "size": m.size,
            "checksum": format!("{:016x}", m.checksum),
            "build_time": m.build_time,
            "languages": m.languages,
            "columns": columns,
            "v4_ranges": n4,
            "v6_ranges": n6,
            "sections": table.section_sizes().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            "meta": m.json,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    println!("table:      {}", path.display());
    println!("size:       {} bytes", m.size);
    println!("checksum:   {:016x}", m.checksum);
    println!(
        "built:      {} ({})",
        m.build_time,
        m.json
            .get("builder")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
    );
    if let Some(d) = m.json.get("description").and_then(|v| v.as_str()) {
        println!("about:      {d}");
    }
    println!("languages:  {}", m.languages.join(", "));
    println!("columns:    {}", columns.join(", "));
    println!("ranges:     {n4} IPv4, {n6} IPv6");
    if let Some(sources) = m.json.get("sources").and_then(|v| v.as_array()) {
        for s in sources {
            println!(
                "source:     {} ({}) {}",
                s.get("name").and_then(|v| v.as_str()).unwrap_or("?"),
                s.get("format").and_then(|v| v.as_str()).unwrap_or("?"),
                s.get("description").and_then(|v| v.as_str()).unwrap_or(""),
            );
        }
    }
    for (name, size) in table.section_sizes() {
        println!("section:    {name:<11} {size:>12} bytes");
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_verify(path: &std::path::Path, against: &[PathBuf], samples: usize, seed: u64) -> Res {
    let t0 = Instant::now();
    let table = open(path)?;
    let r = table.verify().map_err(|e| e.to_string())?;
    println!(
        "{}: ok ({} records, {} strings, {} IPv4 ranges, {} IPv6 ranges, {} split /64s) in {:.2} s",
        path.display(),
        r.records,
        r.strings,
        r.v4_ranges,
        r.v6_ranges,
        r.v6_splits,
        t0.elapsed().as_secs_f64()
    );
    for src in against {
        let t = Instant::now();
        let rep = ipgeo::compare::compare_with_mmdb(&table, src, samples, seed)
            .map_err(|e| e.to_string())?;
        println!(
            "{}: {} addresses agree with {} ({} with data) in {:.2} s",
            path.display(),
            rep.compared,
            src.display(),
            rep.with_data,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
