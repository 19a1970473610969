#!/bin/sh
# embed.sh NAME FILE: print a C file defining `const char NAME[]` as FILE's text.
set -e
printf '/* Generated from %s by daemon/embed.sh; do not edit. */\n' "$2"
printf 'const char %s[] =\n' "$1"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$2"
printf ';\n'
