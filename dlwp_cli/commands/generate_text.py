"""``dlwp generate`` for a language-model run: the prompt as typed, then the sampled words."""

from __future__ import annotations

from dlwp_cli.errors import ConfigError


def generate_text(run, model, prompt: str | None, temperature: float, length: int, seed: int | None) -> str:
    """The generated text; a warning on stderr when the prompt is longer than the model's context."""
    if prompt is None or not prompt.strip():
        raise ConfigError('Give the words to continue: dlwp generate RUN_DIR --prompt "This movie".')
    try:
        text, said = model.generate_text(prompt, temperature, length, seed=seed)
    except ValueError as err:
        raise ConfigError(f"{str(err)[0].upper()}{str(err)[1:]}.") from None
    from dlwp_cli import console

    for message in said:
        console.errors.print(f"[yellow]warning:[/] {message}")
    return text
