import { expect } from 'vitest';

/**
 * The one-line reason of a refused request, from whichever form the hub chose: the `detail`
 * of an RFC 9457 problem+json body (checked to be a complete problem document), or the text.
 */
export async function refusalReason(response: Response): Promise<string> {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json')) return text;
  const problem = JSON.parse(text) as Record<string, unknown>;
  expect(problem).toEqual({
    type: 'about:blank',
    title: expect.any(String),
    status: response.status,
    detail: expect.any(String),
  });
  // Compact: the whole document stays on one line, like the text form.
  expect(text.trim().split('\n')).toHaveLength(1);
  return problem.detail as string;
}
