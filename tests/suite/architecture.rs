//! The house rules, checked on the source: no cycle between top-level
//! modules, channels that don't know each other or the server, and a
//! server that knows no channel. A new `use` that breaks one fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::helpers::manifest_dir;

/// The channels: thin adapters, each with its own state and router.
const CHANNELS: &[&str] = &["telegram", "zalo", "web"];
/// What assembles the channels; nothing below may import it.
const ASSEMBLY: &[&str] = &["startup", "cli", "settings", "http"];

/// Top-level module → the top-level modules it names as `crate::…`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = manifest_dir().join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut uses = BTreeSet::new();
        for file in rust_files(&path) {
            let text = std::fs::read_to_string(&file).unwrap();
            for line in text.lines().map(str::trim) {
                if line.starts_with("//") {
                    continue;
                }
                collect(line, &mut uses);
            }
        }
        uses.remove(&name);
        graph.insert(name, uses);
    }
    graph
}

/// Adds the modules a line names: `crate::x`, and `crate::{x, y::z}`.
fn collect(line: &str, uses: &mut BTreeSet<String>) {
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for n in names {
            let module: String = n
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !module.is_empty() && module != "self" {
                uses.insert(module);
            }
        }
    }
}

fn rust_files(path: &Path) -> Vec<std::path::PathBuf> {
    if path.is_file() {
        return if path.extension().is_some_and(|e| e == "rs") {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        files.extend(rust_files(&entry.unwrap().path()));
    }
    files
}

/// A cycle through `start`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

fn no_module_imports_a_module_that_imports_it() {
    let graph = imports();
    assert!(graph.len() > 20, "read the modules: {graph:?}");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

fn channels_know_neither_each_other_nor_the_server() {
    let graph = imports();
    for channel in CHANNELS {
        let uses = &graph[*channel];
        for other in CHANNELS.iter().chain(ASSEMBLY) {
            assert!(
                !uses.contains(*other),
                "{channel} imports {other}; a channel may use the survey, the engine and the store only"
            );
        }
    }
    let http = &graph["http"];
    assert!(
        http.is_empty(),
        "the HTTP server composes routers it is given; it imports {http:?}"
    );
    for module in graph.keys().filter(|m| !ASSEMBLY.contains(&m.as_str())) {
        for assembly in ["startup", "cli"] {
            assert!(
                !graph[module].contains(assembly),
                "{module} imports {assembly}, which assembles it"
            );
        }
    }
}

fn the_checker_sees_imports_and_cycles() {
    let mut uses = BTreeSet::new();
    collect("use crate::{survey::Survey, store, self};", &mut uses);
    collect("let x = crate::hex::random::<8>();", &mut uses);
    assert_eq!(uses, ["hex", "store", "survey"].map(String::from).into());
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, u)| (m.to_string(), u.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(cycle(&graph, "a").unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(cycle(&graph, "d"), None);
}

/// The tests of this module.
pub fn trials() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        sync no_module_imports_a_module_that_imports_it,
        sync channels_know_neither_each_other_nor_the_server,
        sync the_checker_sees_imports_and_cycles,
    ]
}
