//! `--change`: a Containerfile instruction applied to an image's container
//! config (`commit --change`, `import --change`).

use berth_image::config_edit::{ConfigEdit, apply_to_value, parse_change};
use serde_json::Value;

use super::ImageError;

/// Applies one `--change` instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
/// USER, WORKDIR, STOPSIGNAL, VOLUME) to `cfg`, the config's `config` object.
/// ONBUILD is taken and left out, as podman's import does: an OCI config has
/// no place for it.
pub fn apply_change(cfg: &mut Value, change: &str) -> Result<(), ImageError> {
    let edits = parse_change(change).map_err(|e| ImageError::InvalidArgument(e.to_string()))?;
    let edits = edits
        .into_iter()
        .filter(|e| !matches!(e, ConfigEdit::OnBuild(_)));
    apply_to_value(cfg, edits);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_edits_the_config_or_is_refused_as_an_argument() {
        let mut cfg = json!({});
        apply_change(&mut cfg, "ENV A=1").unwrap();
        assert_eq!(cfg["Env"], json!(["A=1"]));
        let e = apply_change(&mut cfg, "RUN true").unwrap_err();
        assert!(matches!(e, ImageError::InvalidArgument(_)), "{e}");
    }
}
