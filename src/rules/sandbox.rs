//! The one place the Rhai engine is configured: the host API and every limit.

use rhai::{Dynamic, Engine};

use super::{api, context};
use crate::config::Limits;

/// Builds the sandboxed engine rules run in.
///
/// Rhai has no file or network access of its own; `import` is disabled by a resolver that
/// finds nothing, `eval` is disabled, `print`/`debug` go nowhere, and every size, depth,
/// operation count and the wall time are bounded.
pub fn engine(limits: &Limits) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new())
        .disable_symbol("eval")
        .set_strict_variables(true)
        // Operators go through function resolution, so that comparing values of different
        // kinds is an error (api::register_comparisons) instead of a silent `false`.
        .set_fast_operators(false)
        // Interning would re-wrap strings and lose where they came from (rules::context).
        .set_max_strings_interned(0)
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_modules(0)
        .on_print(|_| {})
        .on_debug(|_, _, _| {})
        .on_progress(|ops| {
            // Checking the clock every operation would cost more than the rule itself.
            if ops % 4096 == 0 && context::past_deadline() {
                Some(Dynamic::from("deadline"))
            } else {
                None
            }
        });
    api::register(&mut engine);
    engine
}
