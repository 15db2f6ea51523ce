//! The repository's structural rules, checked over every crate's sources: each module
//! opens with a `//!` line saying what it owns, and no two modules of a crate depend on
//! each other through a cycle of `use crate::…`/`super::…` paths (a module and its own
//! ancestors or descendants excepted: that is Rust's module tree, not a cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;
/// One source file: its path, its module and its text.
type Source = (PathBuf, Module, String);

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file is, relative to its crate's `src`.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Module = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The source without comments and without a trailing inline `#[cfg(test)] mod tests`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Modules declared test-only (`#[cfg(test)]` then `mod name;`) by `text`'s module.
fn test_only_children(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "#[cfg(test)]")
        .filter_map(|w| w[1].strip_prefix("mod ")?.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

/// The modules `code` (of `module`) names through `crate::`, `super::` and `self::`
/// paths, resolved to the longest prefix that is a module of the crate.
fn dependencies(module: &Module, code: &str, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (start, _) in code.match_indices("::") {
        // The root word before this `::`.
        let word_start = code[..start]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let root = &code[word_start..start];
        let preceded_by_path = word_start >= 2 && &bytes[word_start - 2..word_start] == b"::";
        if preceded_by_path {
            continue;
        }
        let mut path: Module = match root {
            "crate" => Vec::new(),
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            "self" => module.clone(),
            _ => continue,
        };
        let mut rest = &code[start + 2..];
        loop {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let segment = &rest[..end];
            if segment.is_empty() {
                break;
            }
            let mut candidate = path.clone();
            candidate.push(segment.to_owned());
            if !modules.contains(&candidate) {
                break;
            }
            path = candidate;
            match rest[end..].strip_prefix("::") {
                Some(next) => rest = next,
                None => break,
            }
        }
        let related = path.starts_with(module) || module.starts_with(&path);
        if !path.is_empty() && !related {
            out.insert(path);
        }
    }
    out
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        next: usize,
        found: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = s.edges.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
}

/// Every crate's `src` with its files (path, module, text).
fn crates() -> Vec<(String, Vec<Source>)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(crates_dir())
        .expect("crates dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let src = dir.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.sort();
        let files = files
            .into_iter()
            .map(|f| {
                let text = std::fs::read_to_string(&f).expect("readable source");
                (f.clone(), module_of(&src, &f), text)
            })
            .collect();
        out.push((
            dir.file_name().unwrap().to_string_lossy().into_owned(),
            files,
        ));
    }
    out
}

#[test]
fn every_module_opens_with_what_it_owns() {
    let mut missing = Vec::new();
    for (_, files) in crates() {
        for (path, _, text) in files {
            if !text.trim_start().starts_with("//!") {
                missing.push(path.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "modules without a `//!` line saying what they own:\n{}",
        missing.join("\n")
    );
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut found = Vec::new();
    for (name, files) in crates() {
        let modules: BTreeSet<Module> = files.iter().map(|(_, m, _)| m.clone()).collect();
        let mut test_only: BTreeSet<Module> = BTreeSet::new();
        for (_, module, text) in &files {
            for child in test_only_children(text) {
                let mut m = module.clone();
                m.push(child);
                test_only.insert(m);
            }
        }
        let mut edges = BTreeMap::new();
        for (_, module, text) in &files {
            if test_only.iter().any(|t| module.starts_with(t)) {
                continue;
            }
            edges.insert(
                module.clone(),
                dependencies(module, &code_of(text), &modules),
            );
        }
        for component in cycles(&edges) {
            let names: Vec<String> = component.iter().map(|m| m.join("::")).collect();
            found.push(format!("{name}: {}", names.join(" ↔ ")));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles (move the shared item to one side or into a module of its own):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let modules: BTreeSet<Module> = [vec!["a".to_owned()], vec!["b".to_owned()]].into();
    let a = dependencies(&vec!["a".into()], "use crate::b::Thing;", &modules);
    let b = dependencies(&vec!["b".into()], "fn f() { super::a::g() }", &modules);
    assert_eq!(a, [vec!["b".to_owned()]].into());
    assert_eq!(b, [vec!["a".to_owned()]].into());
    let edges = BTreeMap::from([(vec!["a".to_owned()], a), (vec!["b".to_owned()], b)]);
    assert_eq!(cycles(&edges).len(), 1);
    // A child using its parent is the module tree, not a cycle.
    let nested: BTreeSet<Module> =
        [vec!["a".to_owned()], vec!["a".to_owned(), "c".to_owned()]].into();
    assert!(dependencies(&vec!["a".into(), "c".into()], "use super::*;", &nested).is_empty());
    // Comments name nothing.
    assert!(
        dependencies(
            &vec!["a".into()],
            &code_of("// see crate::b::Thing"),
            &modules
        )
        .is_empty()
    );
}
