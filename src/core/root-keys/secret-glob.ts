/**
 * The path globs of `secrets.read:<glob>` / `secrets.write:<glob>`, matched segment by segment:
 *
 * - a literal segment matches itself: `payments/stripe`;
 * - `*` inside a segment matches any run of characters but `/`: `stripe-*`, and `*` alone any one segment;
 * - `**` as a whole segment matches any number of segments, none included.
 *
 * A glob grants the paths it matches **and everything under them** (CONTRACT.md: "a prefix
 * matches whole segments"): `payments` covers `payments/x` but not `payments2/x`;
 * `payments/*` covers `payments/stripe` and `payments/stripe/live`, not `payments` itself.
 */
export type SecretGlob = (path: string) => boolean;

function segmentMatcher(segment: string): (s: string) => boolean {
  if (segment === '*') return () => true;
  if (!segment.includes('*')) return (s) => s === segment;
  const source = segment
    .split('*')
    .map((part) => part.replace(/[.\\^$+?()[\]{}|-]/g, '\\$&'))
    .join('[^/]*');
  const re = new RegExp(`^${source}$`);
  return (s) => re.test(s);
}

export function compileSecretGlob(glob: string): SecretGlob {
  // A trailing or doubled `/` in a grant adds nothing; ignore empty segments.
  const parts = glob.split('/').filter((s) => s !== '');
  const matchers = parts.map((p) => (p === '**' ? null : segmentMatcher(p)));

  return (path) => {
    const segments = path.split('/');
    // Memoised on (glob position, path position): several `**` cannot blow up.
    const seen = new Set<number>();
    const match = (pi: number, si: number): boolean => {
      if (pi === matchers.length) return true; // the glob is used up: the rest lies under a granted path
      const memo = pi * (segments.length + 1) + si;
      if (seen.has(memo)) return false;
      seen.add(memo);
      const m = matchers[pi];
      if (m === null) {
        for (let k = si; k <= segments.length; k++) if (match(pi + 1, k)) return true;
        return false;
      }
      const segment = segments[si];
      return segment !== undefined && m?.(segment) === true && match(pi + 1, si + 1);
    };
    return match(0, 0);
  };
}
