//! `cargo xtask public-api [--check]`: the facade's public surface, as its users name it.
//!
//! Reads the sources of `crates/deepidv` with `syn`, starting at `src/lib.rs` and following `mod`
//! declarations to files, and lists every public item under the path a user writes
//! (`deepidv::Client`, `deepidv::model::Session`): types with their public fields and variants,
//! functions and inherent methods with their signatures, consts, statics, traits, derives and
//! trait impls, one sorted line each, in the style of `cargo xtask codegen`. `pub use` is followed
//! to the item it names, in the facade or in `deepidv-raw` (its hand-written modules, its own
//! `pub use`s and the code progenitor generates into `OUT_DIR`, which it `include!`s). The result
//! is written to `crates/deepidv/public-api.txt`, or with `--check` compared with it.
//!
//! Line kinds: `struct`, `field`, `enum`, `variant`, `type`, `fn`, `const`, `static`, `trait`,
//! `trait-item`, `mod`, `method` (inherent, public), `derive`, `impl` (trait impls), `macro`
//! (`#[macro_export]`), `macro-item`/`macro-call` (macros that could not be expanded),
//! `re-export .. (external crate)` and `unresolved`. `#[cfg(..)]`, `#[doc(hidden)]` and
//! `#[non_exhaustive]` lead the lines they apply to. An item re-exported under two paths is listed
//! under both.
//!
//! Resolution, in short:
//!
//! - A crate is its modules: `mod x;` is `x.rs` or `x/mod.rs` beside a `lib.rs`/`mod.rs` (or in a
//!   folder named after any other file), `#[path]` is honoured, inline modules are read in place,
//!   and `include!(concat!(env!("OUT_DIR"), "/f.rs"))` is replaced by that file's items.
//! - Invocations of the crate's own `macro_rules!` macros are expanded (a small `macro_rules`
//!   interpreter: literal tokens, fragments, nested repetitions). An invocation that cannot be
//!   expanded (another crate's macro) stays, and a name it appears to declare is listed as
//!   `macro-item PATH: name! { tokens }`, so a change to its input still changes the listing.
//! - A path is resolved as rustc does for `use`: `crate`, `self`, `super`, a leading `::`, a
//!   name in the current module (an item, a `use`, then a glob `use`), then a crate of the
//!   workspace; anything else is an external crate: `re-export PATH = p (external crate)`.
//! - An impl block belongs to the item its self type resolves to, wherever the block is.
//! - `#[cfg(test)]` and `#[cfg(doctest)]` items are never part of a build a user makes and are
//!   left out; every other `cfg` marks the lines it gates, as does `#[doc(hidden)]`.
//!
//! Known limits: types inside signatures, fields and trait paths are printed as written where the
//! item is defined, not resolved (progenitor's `impl TryFrom<builder::Session> for super::Session`,
//! written inside `builder`, reads `impl TryFrom<Session> for deepidv::model::Session`); auto traits
//! (`Send`, `Sync`), blanket impls, impls for `&T` and impls inside function bodies are not listed;
//! `cfg_attr` is ignored; the visibility of what an unexpanded macro declares is unknown, so it is
//! listed; a path that resolves to nothing is listed as `unresolved PATH = p` and reported on
//! stderr.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io,
    path::{Path, PathBuf},
    process::ExitCode,
};

use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};

use crate::codegen::{self, Snapshot, alias_line, fn_line, inherited, is_public, prefix, text};

/// The committed snapshot.
const SNAPSHOT: Snapshot = Snapshot {
    command: "public-api",
    what: "the facade's public API",
    path: "crates/deepidv/public-api.txt",
};

/// How deep resolution follows `use`s and nested modules before it gives up (cycles).
const MAX_DEPTH: usize = 24;

pub fn run(root: &Path, args: &[String]) -> ExitCode {
    if let Some(unknown) = args.iter().find(|a| *a != "--check") {
        eprintln!(
            "public-api: unknown argument `{unknown}`; usage: cargo xtask public-api [--check]"
        );
        return ExitCode::from(2);
    }
    let check = !args.is_empty();
    let generated = match codegen::generated_file(root) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("public-api: {e}");
            return ExitCode::from(2);
        }
    };
    let read = |path: &Path| std::fs::read_to_string(path);
    let (surface, warnings) = match surface(&workspace_crates(root, &generated), &read) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("public-api: {e}");
            return ExitCode::from(2);
        }
    };
    for warning in &warnings {
        eprintln!("public-api: warning: {warning}");
    }
    if check {
        return SNAPSHOT.check(root, &surface);
    }
    if let Err(code) = SNAPSHOT.write(root, &surface) {
        return code;
    }
    println!(
        "public-api: {} written ({} lines)",
        SNAPSHOT.path,
        surface.lines().count()
    );
    ExitCode::SUCCESS
}

/// The facade and the crate its paths lead into; `generated` is deepidv-raw's generated file.
fn workspace_crates(root: &Path, generated: &Path) -> [CrateSource; 2] {
    [
        CrateSource {
            name: "deepidv".to_owned(),
            lib: root.join("crates/deepidv/src/lib.rs"),
            out_dir: None,
        },
        CrateSource {
            name: "deepidv_raw".to_owned(),
            lib: root.join("crates/deepidv-raw/src/lib.rs"),
            out_dir: generated.parent().map(Path::to_path_buf),
        },
    ]
}

/// A crate of the workspace to read.
pub struct CrateSource {
    /// The name paths use (`deepidv_raw`).
    pub name: String,
    /// Its `src/lib.rs`.
    pub lib: PathBuf,
    /// Its build script's `OUT_DIR`, for `include!(concat!(env!("OUT_DIR"), ..))`.
    pub out_dir: Option<PathBuf>,
}

/// Reads a source file.
pub type Read<'a> = &'a dyn Fn(&Path) -> io::Result<String>;

/// The public surface of the first crate (the facade), one sorted line per item, and warnings
/// about what could not be resolved or expanded. The other crates are those its paths may lead
/// into.
pub fn surface(crates: &[CrateSource], read: Read<'_>) -> Result<(String, Vec<String>), String> {
    let facade = crates.first().ok_or("no crate to list")?;
    let mut workspace = Workspace::default();
    for source in crates {
        let mut loader = Loader {
            source,
            read,
            modules: BTreeMap::new(),
        };
        let items = parse(read, &source.lib)?;
        loader.module(
            Vec::new(),
            items,
            &source.lib,
            true,
            file_dir(&source.lib),
            &[],
        )?;
        let mut modules = std::mem::take(&mut loader.modules);
        workspace
            .warnings
            .extend(expand_macros(&mut loader, &mut modules)?);
        workspace.crates.insert(source.name.clone(), modules);
    }
    workspace.index_impls();
    let mut lines = Vec::new();
    let mut listing = Listing {
        workspace: &workspace,
        lines: &mut lines,
        unresolved: Vec::new(),
    };
    listing.module(&facade.name, &[], &facade.name, &[], 0);
    listing.exported_macros(&facade.name);
    let mut warnings = workspace.warnings.clone();
    warnings.extend(listing.unresolved);
    Ok((codegen::sorted(lines), warnings))
}

fn parse(read: Read<'_>, path: &Path) -> Result<Vec<syn::Item>, String> {
    let code = read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_code(&code, path)
}

fn parse_code(code: &str, path: &Path) -> Result<Vec<syn::Item>, String> {
    syn::parse_file(code)
        .map(|file| file.items)
        .map_err(|e| format!("{} does not parse: {e}", path.display()))
}

/// A module: its items (`include!`s replaced, macros expanded) and the `cfg` marks of the
/// declarations that lead to it.
struct Module {
    items: Vec<syn::Item>,
    cfgs: Vec<String>,
}

/// A crate's modules by path (`[]` is the root).
type Modules = BTreeMap<Vec<String>, Module>;

/// An item: its crate, module and index in that module's items.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    krate: String,
    module: Vec<String>,
    index: usize,
}

/// What a path leads to.
#[derive(Clone, Debug)]
enum Target {
    /// An item (not a module).
    Item(Key),
    /// A module of a workspace crate.
    Module(String, Vec<String>),
    /// An invocation of a macro that could not be expanded, which appears to declare the name.
    Macro(Key),
    /// Something in a crate outside the workspace.
    External(String),
    /// Nothing that could be found.
    Unresolved(String),
}

/// A target and the `cfg` marks met on the way to it.
#[derive(Clone, Debug)]
struct Found {
    target: Target,
    cfgs: Vec<String>,
}

/// One name a `use` tree binds.
#[derive(Debug)]
struct Leaf {
    leading_colon: bool,
    /// The path to the imported item (for a glob, to the module).
    path: Vec<String>,
    /// The name it gets (`None` for `as _`); unused for globs.
    name: Option<String>,
    glob: bool,
}

#[derive(Default)]
struct Workspace {
    crates: BTreeMap<String, Modules>,
    /// The lookups in progress, so that `use` cycles end.
    looking_up: std::cell::RefCell<BTreeSet<(String, Vec<String>, String)>>,
    /// Impl blocks by the item their self type resolves to.
    impls: HashMap<Key, Vec<Key>>,
    warnings: Vec<String>,
}

struct Loader<'a> {
    source: &'a CrateSource,
    read: Read<'a>,
    modules: Modules,
}

impl Loader<'_> {
    /// Adds the module at `path` and, recursively, the modules it declares. `file` is the file
    /// its items come from; `is_file_root` says whether they are that file's top level;
    /// `children_dir` is where its `mod x;` declarations are looked for.
    fn module(
        &mut self,
        path: Vec<String>,
        items: Vec<syn::Item>,
        file: &Path,
        is_file_root: bool,
        children_dir: PathBuf,
        cfgs: &[String],
    ) -> Result<(), String> {
        let mut spliced = Vec::with_capacity(items.len());
        for item in items {
            match include_target(&item, file, self.source) {
                Some(Ok(included)) => {
                    spliced.extend(parse(self.read, &included)?);
                }
                Some(Err(e)) => return Err(format!("{}: {e}", file.display())),
                None => spliced.push(item),
            }
        }
        for item in &spliced {
            let syn::Item::Mod(declaration) = item else {
                continue;
            };
            if excluded(&declaration.attrs) {
                continue;
            }
            let mut child_path = path.clone();
            child_path.push(declaration.ident.to_string());
            let child_cfgs = cfg_marks(cfgs, &declaration.attrs);
            let name = declaration.ident.to_string();
            if let Some((_, content)) = &declaration.content {
                let dir = children_dir.join(&name);
                self.module(child_path, content.clone(), file, false, dir, &child_cfgs)?;
                continue;
            }
            // `#[path]` is relative to the file's folder (inside an inline module, to that
            // module's folder); a file it names declares its own modules as a mod.rs would.
            let explicit = path_attribute(&declaration.attrs);
            let candidates = match &explicit {
                Some(explicit) if is_file_root => vec![file_dir(file).join(explicit)],
                Some(explicit) => vec![children_dir.join(explicit)],
                None => vec![
                    children_dir.join(format!("{name}.rs")),
                    children_dir.join(&name).join("mod.rs"),
                ],
            };
            let mut loaded = false;
            for candidate in &candidates {
                match (self.read)(candidate) {
                    Ok(code) => {
                        let items = parse_code(&code, candidate)?;
                        let is_mod_rs = explicit.is_some()
                            || candidate.file_name().is_some_and(|f| f == "mod.rs");
                        let dir = if is_mod_rs {
                            file_dir(candidate)
                        } else {
                            children_dir.join(&name)
                        };
                        self.module(child_path.clone(), items, candidate, true, dir, &child_cfgs)?;
                        loaded = true;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("cannot read {}: {e}", candidate.display())),
                }
            }
            if !loaded {
                if child_cfgs.len() > cfgs.len() {
                    // A cfg-gated module whose file is absent: empty here.
                    self.modules.insert(
                        child_path,
                        Module {
                            items: Vec::new(),
                            cfgs: child_cfgs,
                        },
                    );
                    continue;
                }
                return Err(format!(
                    "{}: no file for `mod {}` (looked for {})",
                    file.display(),
                    declaration.ident,
                    candidates
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        self.modules.insert(
            path,
            Module {
                items: spliced,
                cfgs: cfgs.to_vec(),
            },
        );
        Ok(())
    }
}

fn file_dir(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn path_attribute(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| match &attr.meta {
        syn::Meta::NameValue(pair) if pair.path.is_ident("path") => match &pair.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(value),
                ..
            }) => Some(value.value()),
            _ => None,
        },
        _ => None,
    })
}

/// The file an `include!` item names: `include!("f.rs")` beside `file`, or
/// `include!(concat!(env!("OUT_DIR"), "/f.rs"))` in the crate's `OUT_DIR`.
fn include_target(
    item: &syn::Item,
    file: &Path,
    source: &CrateSource,
) -> Option<Result<PathBuf, String>> {
    let syn::Item::Macro(invocation) = item else {
        return None;
    };
    if invocation.ident.is_some() || !invocation.mac.path.is_ident("include") {
        return None;
    }
    let mut literals = Vec::new();
    string_literals(invocation.mac.tokens.clone(), &mut literals);
    let uses_out_dir = literals.first().is_some_and(|l| l == "OUT_DIR");
    let relative: String = literals
        .iter()
        .skip(usize::from(uses_out_dir))
        .map(String::as_str)
        .collect();
    if uses_out_dir {
        Some(match &source.out_dir {
            Some(dir) => Ok(dir.join(relative.trim_start_matches('/'))),
            None => Err(format!(
                "`include!` of OUT_DIR in {}, whose OUT_DIR is unknown",
                source.name
            )),
        })
    } else {
        Some(Ok(file_dir(file).join(relative)))
    }
}

fn string_literals(tokens: TokenStream, out: &mut Vec<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => string_literals(group.stream(), out),
            TokenTree::Literal(literal) => {
                if let Ok(syn::Lit::Str(value)) =
                    syn::parse2::<syn::Lit>(TokenTree::Literal(literal).into())
                {
                    out.push(value.value());
                }
            }
            _ => {}
        }
    }
}

/// Whether the attributes gate the item to a build no user of the crate makes.
fn excluded(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && matches!(&attr.meta, syn::Meta::List(list)
                if matches!(list.tokens.to_string().as_str(), "test" | "doctest"))
    })
}

/// `outer` plus the item's own `cfg` marks.
fn cfg_marks(outer: &[String], attrs: &[syn::Attribute]) -> Vec<String> {
    let mut all = outer.to_vec();
    all.extend(
        codegen::marks(attrs)
            .into_iter()
            .filter(|m| m.starts_with("#[cfg(")),
    );
    all
}

fn attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn attrs_mut(item: &mut syn::Item) -> Option<&mut Vec<syn::Attribute>> {
    Some(match item {
        syn::Item::Const(i) => &mut i.attrs,
        syn::Item::Enum(i) => &mut i.attrs,
        syn::Item::Fn(i) => &mut i.attrs,
        syn::Item::Impl(i) => &mut i.attrs,
        syn::Item::Macro(i) => &mut i.attrs,
        syn::Item::Mod(i) => &mut i.attrs,
        syn::Item::Static(i) => &mut i.attrs,
        syn::Item::Struct(i) => &mut i.attrs,
        syn::Item::Trait(i) => &mut i.attrs,
        syn::Item::Type(i) => &mut i.attrs,
        syn::Item::Union(i) => &mut i.attrs,
        syn::Item::Use(i) => &mut i.attrs,
        _ => return None,
    })
}

/// The name an item declares in its module, and whether it is `pub`.
fn declared(item: &syn::Item) -> Option<(String, bool)> {
    let (ident, vis) = match item {
        syn::Item::Const(i) => (&i.ident, &i.vis),
        syn::Item::Enum(i) => (&i.ident, &i.vis),
        syn::Item::Fn(i) => (&i.sig.ident, &i.vis),
        syn::Item::Mod(i) => (&i.ident, &i.vis),
        syn::Item::Static(i) => (&i.ident, &i.vis),
        syn::Item::Struct(i) => (&i.ident, &i.vis),
        syn::Item::Trait(i) => (&i.ident, &i.vis),
        syn::Item::TraitAlias(i) => (&i.ident, &i.vis),
        syn::Item::Type(i) => (&i.ident, &i.vis),
        syn::Item::Union(i) => (&i.ident, &i.vis),
        _ => return None,
    };
    Some((ident.to_string(), is_public(vis)))
}

/// Whether an item is an invocation of a macro (not a `macro_rules!` definition).
fn invocation(item: &syn::Item) -> Option<&syn::ItemMacro> {
    match item {
        syn::Item::Macro(m) if m.ident.is_none() && !m.mac.path.is_ident("macro_rules") => Some(m),
        _ => None,
    }
}

/// The names a macro invocation that could not be expanded appears to declare: each identifier
/// after an item keyword at its top level, else its first identifier followed by a `{ .. }` group
/// (`open_enum! { Name { .. } }`).
fn macro_names(invocation: &syn::ItemMacro) -> Vec<String> {
    let trees: Vec<TokenTree> = invocation.mac.tokens.clone().into_iter().collect();
    let mut names = Vec::new();
    for pair in trees.windows(2) {
        if let [TokenTree::Ident(keyword), TokenTree::Ident(name)] = pair {
            let keyword = keyword.to_string();
            if matches!(
                keyword.as_str(),
                "struct" | "enum" | "union" | "trait" | "type" | "fn" | "const" | "static" | "mod"
            ) && name != "_"
            {
                names.push(name.to_string());
            }
        }
    }
    if names.is_empty() {
        names.extend(trees.windows(2).find_map(|pair| match pair {
            [TokenTree::Ident(name), TokenTree::Group(group)]
                if group.delimiter() == Delimiter::Brace =>
            {
                Some(name.to_string())
            }
            _ => None,
        }));
    }
    names
}

/// An invocation's tokens, compacted, without doc comments: `open_enum! { Status { A = "A", } }`.
fn invocation_text(invocation: &syn::ItemMacro) -> String {
    format!(
        "{}! {{ {} }}",
        text(&invocation.mac.path),
        text(&without_docs(invocation.mac.tokens.clone()))
    )
}

fn without_docs(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut index = 0;
    while index < trees.len() {
        let is_doc = matches!(&trees[index], TokenTree::Punct(p) if p.as_char() == '#')
            && matches!(trees.get(index + 1), Some(TokenTree::Group(g))
                if g.delimiter() == Delimiter::Bracket
                    && g.stream().into_iter().next().is_some_and(|t| t.to_string() == "doc")
                    && !g.stream().to_string().starts_with("doc (hidden"));
        if is_doc {
            index += 2;
            continue;
        }
        out.push(match &trees[index] {
            TokenTree::Group(group) => {
                TokenTree::Group(Group::new(group.delimiter(), without_docs(group.stream())))
            }
            other => other.clone(),
        });
        index += 1;
    }
    out.into_iter().collect()
}

/// Every name a `use` tree binds.
fn leaves(tree: &syn::UseTree, leading_colon: bool, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
    match tree {
        syn::UseTree::Path(step) => {
            path.push(step.ident.to_string());
            leaves(&step.tree, leading_colon, path, out);
            path.pop();
        }
        syn::UseTree::Name(name) => {
            let ident = name.ident.to_string();
            if ident == "self" {
                out.push(Leaf {
                    leading_colon,
                    path: path.clone(),
                    name: path.last().cloned(),
                    glob: false,
                });
            } else {
                let mut full = path.clone();
                full.push(ident.clone());
                out.push(Leaf {
                    leading_colon,
                    path: full,
                    name: Some(ident),
                    glob: false,
                });
            }
        }
        syn::UseTree::Rename(rename) => {
            let mut full = path.clone();
            let ident = rename.ident.to_string();
            if ident != "self" {
                full.push(ident);
            }
            let name = rename.rename.to_string();
            out.push(Leaf {
                leading_colon,
                path: full,
                name: (name != "_").then_some(name),
                glob: false,
            });
        }
        syn::UseTree::Glob(_) => out.push(Leaf {
            leading_colon,
            path: path.clone(),
            name: None,
            glob: true,
        }),
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                leaves(tree, leading_colon, path, out);
            }
        }
    }
}

fn use_leaves(import: &syn::ItemUse) -> Vec<Leaf> {
    let mut out = Vec::new();
    leaves(
        &import.tree,
        import.leading_colon.is_some(),
        &mut Vec::new(),
        &mut out,
    );
    out
}

impl Workspace {
    fn module(&self, krate: &str, path: &[String]) -> Option<&Module> {
        self.crates.get(krate)?.get(path)
    }

    fn item(&self, key: &Key) -> Option<&syn::Item> {
        self.module(&key.krate, &key.module)?.items.get(key.index)
    }

    /// What `name` means in a module: its items, then its macro invocations, then its `use`s,
    /// then its glob `use`s, then (at a crate root) a crate of the workspace.
    fn lookup(&self, krate: &str, module: &[String], name: &str, depth: usize) -> Vec<Found> {
        let Some(here) = self.module(krate, module) else {
            return Vec::new();
        };
        let this = (krate.to_owned(), module.to_vec(), name.to_owned());
        if depth > MAX_DEPTH || !self.looking_up.borrow_mut().insert(this.clone()) {
            return Vec::new();
        }
        let found = self.lookup_in(here, krate, module, name, depth);
        self.looking_up.borrow_mut().remove(&this);
        found
    }

    fn lookup_in(
        &self,
        here: &Module,
        krate: &str,
        module: &[String],
        name: &str,
        depth: usize,
    ) -> Vec<Found> {
        let key = |index| Key {
            krate: krate.to_owned(),
            module: module.to_vec(),
            index,
        };
        let mut found = Vec::new();
        for (index, item) in here.items.iter().enumerate() {
            if excluded(attrs(item)) {
                continue;
            }
            match item {
                syn::Item::Mod(declaration) if declaration.ident == name => {
                    let mut path = module.to_vec();
                    path.push(name.to_owned());
                    let cfgs = self
                        .module(krate, &path)
                        .map(|m| m.cfgs.clone())
                        .unwrap_or_default();
                    found.push(Found {
                        target: Target::Module(krate.to_owned(), path),
                        cfgs,
                    });
                }
                syn::Item::Macro(definition)
                    if definition.ident.as_ref().is_some_and(|i| i == name) =>
                {
                    found.push(Found {
                        target: Target::Item(key(index)),
                        cfgs: here.cfgs.clone(),
                    });
                }
                _ => {
                    if declared(item).is_some_and(|(ident, _)| ident == name) {
                        found.push(Found {
                            target: Target::Item(key(index)),
                            cfgs: here.cfgs.clone(),
                        });
                    }
                }
            }
        }
        if found.is_empty() {
            for (index, item) in here.items.iter().enumerate() {
                if let Some(invocation) = invocation(item)
                    && !excluded(&invocation.attrs)
                    && macro_names(invocation).iter().any(|n| n == name)
                {
                    found.push(Found {
                        target: Target::Macro(key(index)),
                        cfgs: cfg_marks(&here.cfgs, &invocation.attrs),
                    });
                }
            }
        }
        for glob in [false, true] {
            if !found.is_empty() {
                break;
            }
            for item in &here.items {
                let syn::Item::Use(import) = item else {
                    continue;
                };
                if excluded(&import.attrs) {
                    continue;
                }
                for leaf in use_leaves(import) {
                    if leaf.glob != glob || (!glob && leaf.name.as_deref() != Some(name)) {
                        continue;
                    }
                    let cfgs = cfg_marks(&here.cfgs, &import.attrs);
                    let resolved = self.resolve(krate, module, &leaf, depth + 1);
                    if glob {
                        for f in resolved {
                            if let Target::Module(k, p) = &f.target {
                                found.extend(self.lookup(k, p, name, depth + 1).into_iter().map(
                                    |g| Found {
                                        target: g.target,
                                        cfgs: [cfgs.clone(), f.cfgs.clone(), g.cfgs].concat(),
                                    },
                                ));
                            }
                        }
                    } else {
                        found.extend(
                            resolved
                                .into_iter()
                                .filter(|f| !matches!(f.target, Target::Unresolved(_)))
                                .map(|f| Found {
                                    target: f.target,
                                    cfgs: [cfgs.clone(), f.cfgs].concat(),
                                }),
                        );
                    }
                }
            }
        }
        if found.is_empty() && module.is_empty() && self.crates.contains_key(name) {
            found.push(Found {
                target: Target::Module(name.to_owned(), Vec::new()),
                cfgs: Vec::new(),
            });
        }
        found
    }

    /// What a `use` leaf (or a type's path) written in `module` leads to.
    fn resolve(&self, krate: &str, module: &[String], leaf: &Leaf, depth: usize) -> Vec<Found> {
        let whole = leaf.path.join("::");
        let Some((first, rest)) = leaf.path.split_first() else {
            return vec![unresolved(whole)];
        };
        let module_of = |k: &str, p: Vec<String>| Found {
            target: Target::Module(k.to_owned(), p),
            cfgs: Vec::new(),
        };
        let mut current = if leaf.leading_colon {
            if self.crates.contains_key(first) {
                vec![module_of(first, Vec::new())]
            } else {
                return vec![external(whole)];
            }
        } else {
            match first.as_str() {
                "crate" => vec![module_of(krate, Vec::new())],
                "self" => vec![module_of(krate, module.to_vec())],
                "super" => vec![module_of(
                    krate,
                    module[..module.len().saturating_sub(1)].to_vec(),
                )],
                _ => {
                    let local = self.lookup(krate, module, first, depth);
                    if local.is_empty() {
                        if self.crates.contains_key(first) {
                            vec![module_of(first, Vec::new())]
                        } else {
                            return vec![external(whole)];
                        }
                    } else {
                        local
                    }
                }
            }
        };
        for segment in rest {
            let mut next = Vec::new();
            for found in &current {
                match &found.target {
                    Target::Module(k, p) if segment == "super" => {
                        next.push(module_of(k, p[..p.len().saturating_sub(1)].to_vec()));
                    }
                    Target::Module(k, p) => {
                        next.extend(self.lookup(k, p, segment, depth + 1).into_iter().map(|g| {
                            Found {
                                target: g.target,
                                cfgs: [found.cfgs.clone(), g.cfgs].concat(),
                            }
                        }));
                    }
                    Target::External(_) => return vec![external(whole)],
                    _ => {}
                }
            }
            if next.is_empty() {
                return vec![unresolved(whole)];
            }
            current = next;
        }
        current
    }

    /// The names a glob import of the module brings: its public items and `pub use`s.
    fn public_names(&self, krate: &str, module: &[String], depth: usize) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let Some(here) = self.module(krate, module) else {
            return names;
        };
        if depth > MAX_DEPTH {
            return names;
        }
        for item in &here.items {
            if excluded(attrs(item)) {
                continue;
            }
            if let Some((name, true)) = declared(item) {
                names.insert(name);
            } else if let Some(invocation) = invocation(item) {
                names.extend(macro_names(invocation));
            } else if let syn::Item::Use(import) = item
                && is_public(&import.vis)
            {
                for leaf in use_leaves(import) {
                    if leaf.glob {
                        for found in self.resolve(krate, module, &leaf, depth + 1) {
                            if let Target::Module(k, p) = found.target {
                                names.extend(self.public_names(&k, &p, depth + 1));
                            }
                        }
                    } else {
                        names.extend(leaf.name);
                    }
                }
            }
        }
        names
    }

    /// Attaches every impl block to the item its self type names.
    fn index_impls(&mut self) {
        let mut impls: HashMap<Key, Vec<Key>> = HashMap::new();
        for (krate, modules) in &self.crates {
            for (module, here) in modules {
                for (index, item) in here.items.iter().enumerate() {
                    let syn::Item::Impl(block) = item else {
                        continue;
                    };
                    if excluded(&block.attrs) {
                        continue;
                    }
                    let syn::Type::Path(self_type) = &*block.self_ty else {
                        continue;
                    };
                    if self_type.qself.is_some() {
                        continue;
                    }
                    let leaf = Leaf {
                        leading_colon: self_type.path.leading_colon.is_some(),
                        path: self_type
                            .path
                            .segments
                            .iter()
                            .map(|s| s.ident.to_string())
                            .collect(),
                        name: None,
                        glob: false,
                    };
                    for found in self.resolve(krate, module, &leaf, 0) {
                        if let Target::Item(owner) = found.target {
                            impls.entry(owner).or_default().push(Key {
                                krate: krate.clone(),
                                module: module.clone(),
                                index,
                            });
                        }
                    }
                }
            }
        }
        for blocks in impls.values_mut() {
            blocks.sort();
            blocks.dedup();
        }
        self.impls = impls;
    }
}

fn external(path: String) -> Found {
    Found {
        target: Target::External(path),
        cfgs: Vec::new(),
    }
}

fn unresolved(path: String) -> Found {
    Found {
        target: Target::Unresolved(path),
        cfgs: Vec::new(),
    }
}

/// Writes the lines of the facade's public items.
struct Listing<'a> {
    workspace: &'a Workspace,
    lines: &'a mut Vec<String>,
    unresolved: Vec<String>,
}

impl Listing<'_> {
    /// The public contents of a module, under `path` (`deepidv::model`).
    fn module(
        &mut self,
        krate: &str,
        module: &[String],
        path: &str,
        marks: &[String],
        depth: usize,
    ) {
        let workspace = self.workspace;
        let Some(here) = workspace.module(krate, module) else {
            return;
        };
        if depth > MAX_DEPTH {
            self.unresolved
                .push(format!("{path}: modules nested too deep (a cycle?)"));
            return;
        }
        // Names a glob import does not bring, because the module declares them itself.
        let mut own_names = BTreeSet::new();
        for item in &here.items {
            if let Some((name, _)) = declared(item) {
                own_names.insert(name);
            } else if let syn::Item::Use(import) = item {
                own_names.extend(use_leaves(import).into_iter().filter_map(|l| l.name));
            }
        }
        for (index, item) in here.items.iter().enumerate() {
            let item_attrs = attrs(item);
            if excluded(item_attrs) {
                continue;
            }
            let key = Key {
                krate: krate.to_owned(),
                module: module.to_vec(),
                index,
            };
            match item {
                syn::Item::Use(import) if is_public(&import.vis) => {
                    let marks = inherited(marks, &import.attrs);
                    for leaf in use_leaves(import) {
                        let resolved = workspace.resolve(krate, module, &leaf, 0);
                        if leaf.glob {
                            for found in resolved {
                                self.glob(&found, path, &own_names, &marks, depth);
                            }
                        } else if let Some(name) = &leaf.name {
                            for found in resolved {
                                self.found(&found, &format!("{path}::{name}"), &marks, depth);
                            }
                        }
                    }
                }
                syn::Item::Mod(declaration) if is_public(&declaration.vis) => {
                    let mut child = module.to_vec();
                    child.push(declaration.ident.to_string());
                    let found = Found {
                        target: Target::Module(krate.to_owned(), child),
                        cfgs: Vec::new(),
                    };
                    let marks = inherited(marks, &declaration.attrs);
                    self.found(
                        &found,
                        &format!("{path}::{}", declaration.ident),
                        &marks,
                        depth,
                    );
                }
                syn::Item::Macro(_) => {
                    if let Some(invocation) = invocation(item) {
                        let names = macro_names(invocation);
                        if names.is_empty() {
                            let marks = inherited(marks, &invocation.attrs);
                            self.lines.push(format!(
                                "{}macro-call {path}: {}",
                                prefix(&marks, &[]),
                                invocation_text(invocation)
                            ));
                        }
                        for name in names {
                            self.macro_item(&key, &format!("{path}::{name}"), marks);
                        }
                    }
                }
                _ => {
                    if let Some((name, true)) = declared(item) {
                        self.item(&key, &format!("{path}::{name}"), marks, depth);
                    }
                }
            }
        }
    }

    /// The items a glob `pub use` brings into the module at `path`.
    fn glob(
        &mut self,
        found: &Found,
        path: &str,
        own_names: &BTreeSet<String>,
        marks: &[String],
        depth: usize,
    ) {
        let workspace = self.workspace;
        match &found.target {
            Target::Module(krate, module) => {
                for name in workspace.public_names(krate, module, 0) {
                    if own_names.contains(&name) {
                        continue;
                    }
                    for inner in workspace.lookup(krate, module, &name, 0) {
                        let inner = Found {
                            target: inner.target,
                            cfgs: [found.cfgs.clone(), inner.cfgs].concat(),
                        };
                        self.found(&inner, &format!("{path}::{name}"), marks, depth);
                    }
                }
            }
            Target::External(from) => self.lines.push(format!(
                "{}re-export {path}::* = {from}::* (external crate)",
                prefix(marks, &[])
            )),
            _ => self.found(found, &format!("{path}::*"), marks, depth),
        }
    }

    /// A resolved name, under `path`.
    fn found(&mut self, found: &Found, path: &str, marks: &[String], depth: usize) {
        let mut marks = marks.to_vec();
        marks.extend(found.cfgs.iter().cloned());
        match &found.target {
            Target::Item(key) => self.item(key, path, &marks, depth),
            Target::Module(krate, module) => {
                self.lines
                    .push(format!("{}mod {path}", prefix(&marks, &[])));
                self.module(krate, module, path, &marks, depth + 1);
            }
            Target::Macro(key) => self.macro_item(key, path, &marks),
            Target::External(from) => self.lines.push(format!(
                "{}re-export {path} = {from} (external crate)",
                prefix(&marks, &[])
            )),
            Target::Unresolved(from) => {
                self.unresolved
                    .push(format!("{path}: cannot resolve `{from}`"));
                self.lines
                    .push(format!("{}unresolved {path} = {from}", prefix(&marks, &[])));
            }
        }
    }

    /// A name declared by a macro invocation that could not be expanded.
    fn macro_item(&mut self, key: &Key, path: &str, marks: &[String]) {
        if let Some(syn::Item::Macro(invocation)) = self.workspace.item(key) {
            self.lines.push(format!(
                "{}macro-item {path}: {}",
                prefix(marks, &invocation.attrs),
                invocation_text(invocation)
            ));
        }
    }

    /// An item under `path`, with its fields, variants, derives, methods and trait impls.
    fn item(&mut self, key: &Key, path: &str, marks: &[String], depth: usize) {
        let workspace = self.workspace;
        let Some(item) = workspace.item(key) else {
            return;
        };
        let lines = &mut *self.lines;
        match item {
            syn::Item::Struct(model) => {
                codegen::struct_lines(model, path, marks, lines);
                let name = format!("{path}{}", text(&model.generics));
                derive_lines(&model.attrs, &name, &inherited(marks, &model.attrs), lines);
            }
            syn::Item::Enum(choice) => {
                codegen::enum_lines(choice, path, marks, lines);
                let name = format!("{path}{}", text(&choice.generics));
                derive_lines(
                    &choice.attrs,
                    &name,
                    &inherited(marks, &choice.attrs),
                    lines,
                );
            }
            syn::Item::Union(union) => {
                let name = format!("{path}{}", text(&union.generics));
                lines.push(format!("{}union {name}", prefix(marks, &union.attrs)));
                let inner = inherited(marks, &union.attrs);
                for field in union.fields.named.iter().filter(|f| is_public(&f.vis)) {
                    let field_name = field.ident.as_ref().map(ToString::to_string);
                    lines.push(format!(
                        "{}field {name}.{}: {}",
                        prefix(&inner, &field.attrs),
                        field_name.unwrap_or_default(),
                        text(&field.ty)
                    ));
                }
            }
            syn::Item::Type(alias) => lines.push(alias_line(alias, path, marks)),
            syn::Item::Fn(function) => lines.push(fn_line(function, path, marks)),
            syn::Item::Const(constant) => lines.push(format!(
                "{}const {path}: {}",
                prefix(marks, &constant.attrs),
                text(&constant.ty)
            )),
            syn::Item::Static(value) => lines.push(format!(
                "{}static {}{path}: {}",
                prefix(marks, &value.attrs),
                if matches!(value.mutability, syn::StaticMutability::Mut(_)) {
                    "mut "
                } else {
                    ""
                },
                text(&value.ty)
            )),
            syn::Item::Trait(definition) => trait_lines(definition, path, marks, lines),
            syn::Item::TraitAlias(alias) => lines.push(format!(
                "{}trait {path}{} = {}",
                prefix(marks, &alias.attrs),
                text(&alias.generics),
                text(&alias.bounds)
            )),
            syn::Item::Macro(definition) => {
                lines.push(format!("{}macro {path}!", prefix(marks, &definition.attrs)))
            }
            syn::Item::Mod(_) => {
                let mut module = key.module.clone();
                if let Some((name, _)) = declared(item) {
                    module.push(name);
                }
                let found = Found {
                    target: Target::Module(key.krate.clone(), module),
                    cfgs: Vec::new(),
                };
                self.found(&found, path, marks, depth);
                return;
            }
            _ => return,
        }
        let inner = inherited(marks, attrs(item));
        for block_key in workspace.impls.get(key).into_iter().flatten() {
            let Some(syn::Item::Impl(block)) = workspace.item(block_key) else {
                continue;
            };
            let mut block_marks = inner.clone();
            if let Some(module) = workspace.module(&block_key.krate, &block_key.module) {
                block_marks.extend(module.cfgs.iter().cloned());
            }
            impl_lines(block, path, &block_marks, self.lines);
        }
    }

    /// `#[macro_export]` macros, which live at the crate root wherever they are defined.
    fn exported_macros(&mut self, krate: &str) {
        let Some(modules) = self.workspace.crates.get(krate) else {
            return;
        };
        for here in modules.values() {
            for item in &here.items {
                if let syn::Item::Macro(definition) = item
                    && let Some(name) = &definition.ident
                    && definition
                        .attrs
                        .iter()
                        .any(|a| a.path().is_ident("macro_export"))
                    && !excluded(&definition.attrs)
                {
                    self.lines.push(format!(
                        "{}macro {krate}::{name}!",
                        prefix(&here.cfgs, &definition.attrs)
                    ));
                }
            }
        }
    }
}

/// `derive Trait for PATH` per derived trait.
fn derive_lines(attrs: &[syn::Attribute], name: &str, marks: &[String], lines: &mut Vec<String>) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let Ok(traits) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        for derived in traits {
            lines.push(format!(
                "{}derive {} for {name}",
                prefix(marks, &[]),
                text(&derived)
            ));
        }
    }
}

/// A trait impl's line, or an inherent impl's public methods and consts.
fn impl_lines(block: &syn::ItemImpl, path: &str, marks: &[String], lines: &mut Vec<String>) {
    let arguments = match &*block.self_ty {
        syn::Type::Path(self_type) => self_type
            .path
            .segments
            .last()
            .map(|s| text(&s.arguments))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let self_name = format!("{path}{arguments}");
    if let Some((negative, trait_path, _)) = &block.trait_ {
        let where_clause = block
            .generics
            .where_clause
            .as_ref()
            .map(|w| format!(" {}", text(w)))
            .unwrap_or_default();
        lines.push(format!(
            "{}impl{} {}{} for {self_name}{where_clause}",
            prefix(marks, &block.attrs),
            text(&block.generics),
            if negative.is_some() { "!" } else { "" },
            text(trait_path)
        ));
        return;
    }
    let marks = inherited(marks, &block.attrs);
    for member in &block.items {
        match member {
            syn::ImplItem::Fn(method) if is_public(&method.vis) => lines.push(format!(
                "{}method {self_name}: {}",
                prefix(&marks, &method.attrs),
                text(&method.sig)
            )),
            syn::ImplItem::Const(constant) if is_public(&constant.vis) => lines.push(format!(
                "{}const {self_name}::{}: {}",
                prefix(&marks, &constant.attrs),
                constant.ident,
                text(&constant.ty)
            )),
            _ => {}
        }
    }
}

/// `trait PATH` and a `trait-item` line per associated item.
fn trait_lines(definition: &syn::ItemTrait, path: &str, marks: &[String], lines: &mut Vec<String>) {
    let supertraits = if definition.supertraits.is_empty() {
        String::new()
    } else {
        format!(": {}", text(&definition.supertraits))
    };
    lines.push(format!(
        "{}{}trait {path}{}{supertraits}",
        prefix(marks, &definition.attrs),
        if definition.unsafety.is_some() {
            "unsafe "
        } else {
            ""
        },
        text(&definition.generics)
    ));
    let marks = inherited(marks, &definition.attrs);
    for member in &definition.items {
        let (member_attrs, signature) = match member {
            syn::TraitItem::Fn(method) => (&method.attrs, text(&method.sig)),
            syn::TraitItem::Const(constant) => (
                &constant.attrs,
                format!("const {}: {}", constant.ident, text(&constant.ty)),
            ),
            syn::TraitItem::Type(associated) => (
                &associated.attrs,
                format!(
                    "type {}{}{}",
                    associated.ident,
                    text(&associated.generics),
                    if associated.bounds.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", text(&associated.bounds))
                    }
                ),
            ),
            _ => continue,
        };
        lines.push(format!(
            "{}trait-item {path}: {signature}",
            prefix(&marks, member_attrs)
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// `macro_rules!` expansion

/// Expands every invocation of the crate's own `macro_rules!` macros in place (and what the
/// expansions invoke in turn). Returns a warning per invocation that does not expand.
fn expand_macros(loader: &mut Loader<'_>, modules: &mut Modules) -> Result<Vec<String>, String> {
    let mut rules = HashMap::new();
    for here in modules.values() {
        for item in &here.items {
            if let syn::Item::Macro(definition) = item
                && definition.mac.path.is_ident("macro_rules")
                && let Some(name) = &definition.ident
            {
                rules.insert(name.to_string(), definition.mac.tokens.clone());
            }
        }
    }
    let mut warnings = Vec::new();
    if rules.is_empty() {
        return Ok(warnings);
    }
    let paths: Vec<Vec<String>> = modules.keys().cloned().collect();
    for path in paths {
        let Some(here) = modules.get_mut(&path) else {
            continue;
        };
        let items = std::mem::take(&mut here.items);
        let mut new_modules = Vec::new();
        here.items = expand_items(items, &rules, &path, &mut warnings, 0, &mut new_modules);
        let cfgs = here.cfgs.clone();
        // Modules an expansion declares inline.
        let lib = loader.source.lib.clone();
        for declaration in new_modules {
            if let Some((_, content)) = declaration.content {
                let mut child = path.clone();
                child.push(declaration.ident.to_string());
                let child_cfgs = cfg_marks(&cfgs, &declaration.attrs);
                let dir = file_dir(&lib).join(child.join("/"));
                loader.module(child, content, &lib, false, dir, &child_cfgs)?;
            }
        }
    }
    modules.append(&mut loader.modules);
    Ok(warnings)
}

fn expand_items(
    items: Vec<syn::Item>,
    rules: &HashMap<String, TokenStream>,
    module: &[String],
    warnings: &mut Vec<String>,
    depth: usize,
    new_modules: &mut Vec<syn::ItemMod>,
) -> Vec<syn::Item> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let rule = invocation(&item)
            .and_then(|m| m.mac.path.get_ident())
            .and_then(|name| rules.get(&name.to_string()));
        let (Some(rule), syn::Item::Macro(invocation)) = (rule, &item) else {
            out.push(item);
            continue;
        };
        let expanded = (depth < MAX_DEPTH)
            .then(|| expand(rule, &invocation.mac.tokens))
            .flatten()
            .and_then(|tokens| syn::parse2::<syn::File>(tokens).ok());
        let Some(file) = expanded else {
            warnings.push(format!(
                "in module `{}`: cannot expand `{}!`; it is listed as written",
                module.join("::"),
                text(&invocation.mac.path)
            ));
            out.push(item);
            continue;
        };
        // The invocation's cfg gates everything it declares.
        let gates: Vec<syn::Attribute> = invocation
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .cloned()
            .collect();
        let mut produced =
            expand_items(file.items, rules, module, warnings, depth + 1, new_modules);
        for produced_item in &mut produced {
            if let Some(item_attrs) = attrs_mut(produced_item) {
                item_attrs.splice(0..0, gates.iter().cloned());
            }
            if let syn::Item::Mod(declaration) = produced_item
                && declaration.content.is_some()
            {
                new_modules.push(declaration.clone());
            }
        }
        out.extend(produced);
    }
    out
}

/// A `macro_rules!` matcher.
#[derive(Debug)]
enum Pattern {
    /// A token that must be there as it is.
    Token(String),
    Group(Delimiter, Vec<Pattern>),
    /// `$name:kind`.
    Fragment(String, String),
    /// `$( .. ) sep op`.
    Repeat(Vec<Pattern>, Option<String>, char),
}

/// What a matcher's variables matched.
#[derive(Clone, Debug)]
enum Bound {
    One(TokenStream),
    Many(Vec<Bound>),
}

type Bindings = HashMap<String, Bound>;

/// The expansion of an invocation, by the first arm of `rules` whose matcher matches.
fn expand(rules: &TokenStream, input: &TokenStream) -> Option<TokenStream> {
    let trees: Vec<TokenTree> = rules.clone().into_iter().collect();
    let input: Vec<TokenTree> = input.clone().into_iter().collect();
    let mut index = 0;
    while index < trees.len() {
        let (TokenTree::Group(matcher), Some(TokenTree::Punct(eq)), Some(TokenTree::Punct(gt))) =
            (&trees[index], trees.get(index + 1), trees.get(index + 2))
        else {
            return None;
        };
        let Some(TokenTree::Group(transcriber)) = trees.get(index + 3) else {
            return None;
        };
        if eq.as_char() != '=' || gt.as_char() != '>' {
            return None;
        }
        index += 4;
        if matches!(trees.get(index), Some(TokenTree::Punct(p)) if p.as_char() == ';') {
            index += 1;
        }
        let Some(patterns) = matcher_patterns(matcher.stream()) else {
            continue;
        };
        let mut bindings = Bindings::new();
        if match_patterns(&patterns, &input, &mut bindings) == Some(input.len()) {
            return transcribe(transcriber.stream(), &bindings, &[]);
        }
    }
    None
}

fn matcher_patterns(tokens: TokenStream) -> Option<Vec<Pattern>> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut patterns = Vec::new();
    let mut index = 0;
    while index < trees.len() {
        match &trees[index] {
            TokenTree::Punct(dollar) if dollar.as_char() == '$' => match trees.get(index + 1)? {
                TokenTree::Ident(name) => {
                    let (Some(TokenTree::Punct(colon)), Some(TokenTree::Ident(kind))) =
                        (trees.get(index + 2), trees.get(index + 3))
                    else {
                        return None;
                    };
                    if colon.as_char() != ':' {
                        return None;
                    }
                    patterns.push(Pattern::Fragment(name.to_string(), kind.to_string()));
                    index += 4;
                }
                TokenTree::Group(group) if group.delimiter() == Delimiter::Parenthesis => {
                    let inner = matcher_patterns(group.stream())?;
                    let (separator, op, used) = repetition(&trees[index + 2..])?;
                    patterns.push(Pattern::Repeat(inner, separator.map(|s| s.to_string()), op));
                    index += 2 + used;
                }
                _ => return None,
            },
            TokenTree::Group(group) => {
                patterns.push(Pattern::Group(
                    group.delimiter(),
                    matcher_patterns(group.stream())?,
                ));
                index += 1;
            }
            other => {
                patterns.push(Pattern::Token(other.to_string()));
                index += 1;
            }
        }
    }
    Some(patterns)
}

/// After `$( .. )`: the separator (if any), the operator and how many tokens they take.
fn repetition(rest: &[TokenTree]) -> Option<(Option<TokenTree>, char, usize)> {
    let op = |tree: &TokenTree| match tree {
        TokenTree::Punct(p) if matches!(p.as_char(), '*' | '+' | '?') => Some(p.as_char()),
        _ => None,
    };
    let first = rest.first()?;
    if let Some(op) = op(first) {
        return Some((None, op, 1));
    }
    Some((Some(first.clone()), op(rest.get(1)?)?, 2))
}

/// Matches `patterns` against the start of `input`; how many token trees they took.
fn match_patterns(
    patterns: &[Pattern],
    input: &[TokenTree],
    bindings: &mut Bindings,
) -> Option<usize> {
    let mut at = 0;
    for pattern in patterns {
        match pattern {
            Pattern::Token(expected) => {
                if input.get(at)?.to_string() != *expected {
                    return None;
                }
                at += 1;
            }
            Pattern::Group(delimiter, inner) => {
                let TokenTree::Group(group) = input.get(at)? else {
                    return None;
                };
                if group.delimiter() != *delimiter {
                    return None;
                }
                let trees: Vec<TokenTree> = group.stream().into_iter().collect();
                if match_patterns(inner, &trees, bindings)? != trees.len() {
                    return None;
                }
                at += 1;
            }
            Pattern::Fragment(name, kind) => {
                let used = fragment(kind, &input[at..])?;
                bindings.insert(
                    name.clone(),
                    Bound::One(input[at..at + used].iter().cloned().collect()),
                );
                at += used;
            }
            Pattern::Repeat(inner, separator, op) => {
                let mut rounds: Vec<Bindings> = Vec::new();
                loop {
                    if *op == '?' && !rounds.is_empty() {
                        break;
                    }
                    let mut start = at;
                    if !rounds.is_empty()
                        && let Some(separator) = separator
                    {
                        if input.get(at).map(ToString::to_string).as_ref() != Some(separator) {
                            break;
                        }
                        start += 1;
                    }
                    let mut round = Bindings::new();
                    match match_patterns(inner, &input[start..], &mut round) {
                        Some(used) if used > 0 => {
                            rounds.push(round);
                            at = start + used;
                        }
                        _ => break,
                    }
                }
                if *op == '+' && rounds.is_empty() {
                    return None;
                }
                let mut names = BTreeSet::new();
                variables(inner, &mut names);
                for name in names {
                    let each = rounds
                        .iter()
                        .map(|round| round.get(&name).cloned().unwrap_or(Bound::Many(Vec::new())))
                        .collect();
                    bindings.insert(name, Bound::Many(each));
                }
            }
        }
    }
    Some(at)
}

fn variables(patterns: &[Pattern], names: &mut BTreeSet<String>) {
    for pattern in patterns {
        match pattern {
            Pattern::Fragment(name, _) => {
                names.insert(name.clone());
            }
            Pattern::Group(_, inner) | Pattern::Repeat(inner, _, _) => variables(inner, names),
            Pattern::Token(_) => {}
        }
    }
}

/// How many token trees at the start of `input` a fragment of `kind` takes.
fn fragment(kind: &str, input: &[TokenTree]) -> Option<usize> {
    match kind {
        "tt" => input.first().map(|_| 1),
        "ident" => matches!(input.first()?, TokenTree::Ident(_)).then_some(1),
        "lifetime" => match (input.first()?, input.get(1)?) {
            (TokenTree::Punct(p), TokenTree::Ident(_)) if p.as_char() == '\'' => Some(2),
            _ => None,
        },
        "literal" => match (input.first()?, input.get(1)) {
            (TokenTree::Literal(_), _) => Some(1),
            (TokenTree::Punct(p), Some(TokenTree::Literal(_))) if p.as_char() == '-' => Some(2),
            _ => None,
        },
        _ => {
            let total = input.len();
            let parser = |stream: ParseStream<'_>| -> syn::Result<usize> {
                match kind {
                    "meta" => drop(stream.parse::<syn::Meta>()?),
                    "ty" => drop(stream.parse::<syn::Type>()?),
                    "path" => drop(stream.parse::<syn::Path>()?),
                    "expr" => drop(stream.parse::<syn::Expr>()?),
                    "vis" => drop(stream.parse::<syn::Visibility>()?),
                    "item" => drop(stream.parse::<syn::Item>()?),
                    "block" => drop(stream.parse::<syn::Block>()?),
                    "stmt" => drop(stream.parse::<syn::Stmt>()?),
                    "pat" | "pat_param" => drop(syn::Pat::parse_single(stream)?),
                    _ => return Err(stream.error("unknown fragment kind")),
                }
                let rest: TokenStream = stream.parse()?;
                Ok(total - rest.into_iter().count())
            };
            parser.parse2(input.iter().cloned().collect()).ok()
        }
    }
}

/// Writes a transcriber out with the bindings; `at` is the index in each enclosing repetition.
fn transcribe(tokens: TokenStream, bindings: &Bindings, at: &[usize]) -> Option<TokenStream> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut index = 0;
    while index < trees.len() {
        match (&trees[index], trees.get(index + 1)) {
            (TokenTree::Punct(dollar), Some(TokenTree::Ident(name))) if dollar.as_char() == '$' => {
                if name == "crate" {
                    out.extend([TokenTree::Ident(Ident::new("crate", name.span()))]);
                } else {
                    let Bound::One(tokens) = bound_at(bindings.get(&name.to_string())?, at)? else {
                        return None;
                    };
                    out.extend(tokens.clone());
                }
                index += 2;
            }
            (TokenTree::Punct(dollar), Some(TokenTree::Group(group)))
                if dollar.as_char() == '$' && group.delimiter() == Delimiter::Parenthesis =>
            {
                let (separator, _, used) = repetition(&trees[index + 2..])?;
                let mut names = BTreeSet::new();
                used_variables(group.stream(), &mut names);
                let rounds = names
                    .iter()
                    .filter_map(|name| match bound_at(bindings.get(name)?, at)? {
                        Bound::Many(each) => Some(each.len()),
                        Bound::One(_) => None,
                    })
                    .max()?;
                for round in 0..rounds {
                    if round > 0
                        && let Some(separator) = &separator
                    {
                        out.extend([separator.clone()]);
                    }
                    let mut inner_at = at.to_vec();
                    inner_at.push(round);
                    out.extend(transcribe(group.stream(), bindings, &inner_at)?);
                }
                index += 2 + used;
            }
            (TokenTree::Group(group), _) => {
                let mut copy =
                    Group::new(group.delimiter(), transcribe(group.stream(), bindings, at)?);
                copy.set_span(group.span());
                out.extend([TokenTree::Group(copy)]);
                index += 1;
            }
            (other, _) => {
                out.extend([other.clone()]);
                index += 1;
            }
        }
    }
    Some(out)
}

/// A binding at the current repetition indices: as deep as it goes.
fn bound_at<'a>(bound: &'a Bound, at: &[usize]) -> Option<&'a Bound> {
    let mut current = bound;
    for &round in at {
        match current {
            Bound::Many(each) => current = each.get(round)?,
            Bound::One(_) => break,
        }
    }
    Some(current)
}

fn used_variables(tokens: TokenStream, names: &mut BTreeSet<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, tree) in trees.iter().enumerate() {
        match (tree, trees.get(index + 1)) {
            (TokenTree::Punct(dollar), Some(TokenTree::Ident(name)))
                if dollar.as_char() == '$' && name != "crate" =>
            {
                names.insert(name.to_string());
            }
            (TokenTree::Group(group), _) => used_variables(group.stream(), names),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two crates in memory: `facade` and `other`, whose root includes a generated file.
    fn sources() -> HashMap<PathBuf, String> {
        let files = [
            (
                "/facade/src/lib.rs",
                r#"
                mod inner;
                pub mod api;
                #[cfg(feature = "testing")]
                pub mod testing;
                pub use inner::{Alpha, Beta as Renamed, helper, Status, Flags};
                #[doc(hidden)]
                pub use inner::Hidden;
                pub use other::Widget;
                pub use other::types::Generated as Gen;
                pub use other::tools::*;
                pub use serde;
                struct Private;
                pub(crate) struct CrateOnly;
                #[cfg(test)]
                pub struct TestOnly;
                "#,
            ),
            (
                "/facade/src/inner.rs",
                r#"
                macro_rules! make_enum {
                    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
                        $(#[$meta])*
                        #[derive(Debug)]
                        pub enum $name { $($variant,)+ }
                        impl $name {
                            pub fn wire(&self) -> &str { match self { $($name::$variant => $wire,)+ } }
                        }
                    };
                }
                make_enum! {
                    /// On or off.
                    Status { On = "on", Off = "off" }
                }
                bitflags::bitflags! {
                    pub struct Flags: u8 { const A = 1; }
                }
                pub struct Alpha { pub id: String, secret: u8 }
                impl Alpha {
                    pub fn new() -> Self { Self { id: String::new(), secret: 0 } }
                    fn private(&self) {}
                    pub(crate) fn internal() {}
                }
                impl std::fmt::Display for Alpha {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { Ok(()) }
                }
                pub struct Beta;
                pub fn helper(x: u32) -> u32 { x }
                pub struct Hidden;
                "#,
            ),
            (
                "/facade/src/api/mod.rs",
                "mod nested; pub use nested::Gamma; pub const LIMIT: u32 = 5;",
            ),
            ("/facade/src/api/nested.rs", "pub struct Gamma(pub u8);"),
            ("/facade/src/testing.rs", "pub fn mock() {}"),
            (
                "/other/src/lib.rs",
                r#"
                mod widgets;
                pub mod tools { pub struct Hammer; pub struct Saw; struct Secret; }
                pub use widgets::Widget;
                mod generated { include!(concat!(env!("OUT_DIR"), "/gen.rs")); }
                pub use generated::*;
                "#,
            ),
            (
                "/other/src/widgets.rs",
                "#[non_exhaustive] pub struct Widget { pub size: u32 }",
            ),
            (
                "/out/gen.rs",
                r#"
                pub mod types { pub struct Generated { pub value: i64 } }
                impl crate::Widget { pub fn grow(&mut self) {} }
                "#,
            ),
        ];
        files
            .into_iter()
            .map(|(path, code)| (PathBuf::from(path), code.to_owned()))
            .collect()
    }

    fn crates() -> Vec<CrateSource> {
        vec![
            CrateSource {
                name: "facade".to_owned(),
                lib: PathBuf::from("/facade/src/lib.rs"),
                out_dir: None,
            },
            CrateSource {
                name: "other".to_owned(),
                lib: PathBuf::from("/other/src/lib.rs"),
                out_dir: Some(PathBuf::from("/out")),
            },
        ]
    }

    fn in_memory(files: &HashMap<PathBuf, String>) -> impl Fn(&Path) -> io::Result<String> + '_ {
        |path| {
            files
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "absent"))
        }
    }

    #[test]
    fn the_resolver_lists_what_users_can_name() {
        let files = sources();
        let (surface, warnings) = surface(&crates(), &in_memory(&files)).unwrap();
        let expected = [
            // A cfg-gated module and what it holds.
            r#"#[cfg(feature = "testing")] fn facade::testing::mock: fn mock()"#,
            r#"#[cfg(feature = "testing")] mod facade::testing"#,
            // A `#[doc(hidden)]` re-export.
            "#[doc(hidden)] struct facade::Hidden",
            // A re-export into the second crate, with a method from an impl in its generated code.
            "#[non_exhaustive] struct facade::Widget",
            "const facade::api::LIMIT: u32",
            // Declared by the crate's own macro_rules!, expanded.
            "derive Debug for facade::Status",
            "enum facade::Status",
            "field facade::Alpha.id: String",
            // Renamed, from the second crate's OUT_DIR include.
            "field facade::Gen.value: i64",
            "field facade::Widget.size: u32",
            "field facade::api::Gamma.0: u8",
            "fn facade::helper: fn helper(x : u32) -> u32",
            "impl std::fmt::Display for facade::Alpha",
            // Another crate's macro: listed as written.
            "macro-item facade::Flags: bitflags::bitflags! { pub struct Flags : u8 { const A = 1; } }",
            "method facade::Alpha: fn new() -> Self",
            "method facade::Status: fn wire(&self) -> &str",
            "method facade::Widget: fn grow(&mut self)",
            "mod facade::api",
            "re-export facade::serde = serde (external crate)",
            "struct facade::Alpha",
            "struct facade::Gen",
            // The glob `pub use other::tools::*`: public items only.
            "struct facade::Hammer",
            // A group re-export with a rename.
            "struct facade::Renamed",
            "struct facade::Saw",
            "struct facade::api::Gamma",
            "variant facade::Status::Off",
            "variant facade::Status::On",
        ];
        assert_eq!(surface.lines().collect::<Vec<_>>(), expected);
        assert!(warnings.is_empty(), "{warnings:?}");
        for private in [
            "secret",
            "private",
            "internal",
            "Private",
            "CrateOnly",
            "TestOnly",
        ] {
            assert!(!surface.contains(private), "{private} is listed");
        }
    }

    #[test]
    fn a_change_in_a_macro_invocation_changes_the_listing() {
        let mut files = sources();
        for (from, to) in [
            ("Off = \"off\"", "Dim = \"dim\""),
            ("const A = 1;", "const B = 2;"),
        ] {
            if let Some(code) = files.get_mut(Path::new("/facade/src/inner.rs")) {
                *code = code.replace(from, to);
            }
        }
        let (surface, _) = surface(&crates(), &in_memory(&files)).unwrap();
        assert!(surface.contains("variant facade::Status::Dim\n"));
        assert!(!surface.contains("Status::Off"));
        assert!(surface.contains("{ const B = 2; }"));
    }

    #[test]
    fn an_invocation_that_does_not_expand_is_listed_as_written_with_a_warning() {
        let mut files = sources();
        if let Some(code) = files.get_mut(Path::new("/facade/src/inner.rs")) {
            *code = code.replace("Status { On = \"on\", Off = \"off\" }", "Status { On }");
        }
        let (surface, warnings) = surface(&crates(), &in_memory(&files)).unwrap();
        assert!(
            surface.contains("macro-item facade::Status: make_enum! { Status { On } }\n"),
            "{surface}"
        );
        assert_eq!(
            warnings,
            ["in module `inner`: cannot expand `make_enum!`; it is listed as written"]
        );
    }

    #[test]
    fn macro_rules_expansion_handles_nested_repetitions_and_separators() {
        let rules: TokenStream =
            "($($name:ident: $($field:ident),*);* $(;)?) => { $(pub struct $name { $(pub $field: u8,)* })* };"
                .parse()
                .unwrap();
        let input: TokenStream = "A: x, y; B: ; C: z".parse().unwrap();
        let expanded = expand(&rules, &input).unwrap();
        let file: syn::File = syn::parse2(expanded).unwrap();
        let mut lines = Vec::new();
        for item in &file.items {
            if let syn::Item::Struct(model) = item {
                codegen::struct_lines(model, &model.ident.to_string(), &[], &mut lines);
            }
        }
        assert_eq!(
            lines,
            [
                "struct A",
                "field A.x: u8",
                "field A.y: u8",
                "struct B",
                "struct C",
                "field C.z: u8"
            ]
        );
        assert!(expand(&rules, &"A: 1".parse().unwrap()).is_none());
    }

    #[test]
    fn a_module_without_a_file_is_an_error() {
        let mut files = sources();
        files.remove(Path::new("/facade/src/api/nested.rs"));
        let error = surface(&crates(), &in_memory(&files)).unwrap_err();
        assert_eq!(
            error,
            "/facade/src/api/mod.rs: no file for `mod nested` (looked for \
             /facade/src/api/nested.rs, /facade/src/api/nested/mod.rs)"
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error() {
        let mut files = sources();
        files.insert(
            PathBuf::from("/facade/src/testing.rs"),
            "pub fn (".to_owned(),
        );
        let error = surface(&crates(), &in_memory(&files)).unwrap_err();
        assert!(
            error.starts_with("/facade/src/testing.rs does not parse: "),
            "{error}"
        );
    }

    /// The real facade, with deepidv-raw's generated code from its build (`cargo build -p
    /// deepidv-raw`, as `cargo xtask public-api` does).
    #[test]
    fn the_workspace_facade_lists_known_items() {
        let root = crate::workspace_root();
        let generated = codegen::generated_file(&root).unwrap();
        let crates = workspace_crates(&root, &generated);
        let (surface, warnings) = surface(&crates, &|path| std::fs::read_to_string(path)).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let lines: Vec<&str> = surface.lines().collect();
        for known in [
            "struct deepidv::Client",
            "struct deepidv::Sessions",
            "#[non_exhaustive] struct deepidv::model::Session",
            "re-export deepidv::reqwest = reqwest (external crate)",
            "mod deepidv::model",
        ] {
            assert!(lines.contains(&known), "no `{known}`");
        }
        let starts = |prefix: &str| lines.iter().any(|line| line.starts_with(prefix));
        assert!(starts("method deepidv::Sessions: async fn create(&self"));
        assert!(starts("field deepidv::model::Session.id: "));
        assert!(starts("variant deepidv::SessionStatus::Verified"));
        assert!(starts("method deepidv::SessionStatus: fn as_str("));
        assert!(
            !surface.contains("ClientInner"),
            "a pub(crate) item is listed"
        );
    }
}
