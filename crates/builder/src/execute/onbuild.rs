//! ONBUILD: triggers recorded in the image config for the builds that use
//! the image as a base, and run first by such a build.

use serde_json::Value;

use crate::error::BuildError;
use crate::instructions::{Instruction, Located};

/// The base config's ONBUILD triggers as instructions (taken out of the
/// config: a child does not pass them on).
pub(super) fn onbuild_triggers(config: &mut Value) -> Result<Vec<Located>, BuildError> {
    let Some(list) = config.as_object_mut().and_then(|o| o.remove("OnBuild")) else {
        return Ok(Vec::new());
    };
    let text: String = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .map(|t| format!("{t}\n"))
        .collect();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let ast = crate::parse_ast(&text, "ONBUILD")?;
    let insts = crate::parse_instructions(&ast, "ONBUILD")?;
    if let Some(bad) = insts.iter().find(|i| {
        matches!(
            i.instruction,
            Instruction::From(_) | Instruction::Onbuild(_)
        )
    }) {
        return Err(BuildError::BadTrigger(bad.original.trim().to_string()));
    }
    Ok(insts)
}
