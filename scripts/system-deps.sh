#!/usr/bin/env bash
# Install the Debian packages the report needs, if they are missing.
#   tex: TeX Live for the PDF (plain Sphinx LaTeX with pdflatex, ~360 MB)
#   all: tex + poppler-utils (pdftotext/pdftoppm, for the PDF tests) + chromium (browser tests)
# As root it runs apt-get; otherwise sudo if it works without a password; otherwise it prints the
# exact command and fails.
set -euo pipefail
what="${1:-tex}"
packages=()
need() { command -v "$1" >/dev/null 2>&1 || packages+=("${@:2}"); }

need pdflatex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended tex-gyre
need latexmk latexmk
if [[ "$what" == "all" ]]; then
  need pdftotext poppler-utils
  need chromium chromium
fi
[[ ${#packages[@]} -eq 0 ]] && exit 0

cmd=(apt-get install -y --no-install-recommends "${packages[@]}")
if [[ $(id -u) -eq 0 ]]; then
  sudo_=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo_=(sudo)
else
  echo "Missing system packages: ${packages[*]}" >&2
  echo "Install them with:  sudo apt-get update && sudo ${cmd[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${packages[*]}"
"${sudo_[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" "${cmd[@]}" -qq >/dev/null
