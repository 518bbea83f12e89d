import { PROBLEM_JSON } from '../http/problem-details.js';

/**
 * The reason a hub gave for refusing a request: the `detail` of an RFC 9457 problem+json
 * body (what this hub and Mercure 1.0 answer to JSON-accepting clients), else the text body.
 */
export async function hubReason(response: Response): Promise<string> {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (type.split(';', 1)[0]!.trim().toLowerCase() === PROBLEM_JSON) {
    try {
      const problem = JSON.parse(text) as { title?: unknown; detail?: unknown };
      if (typeof problem.detail === 'string') return problem.detail;
      if (typeof problem.title === 'string') return problem.title;
    } catch {
      // Not JSON after all: show it as it came.
    }
  }
  return text.trim();
}
