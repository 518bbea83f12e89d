/**
 * Source addresses for load connections: 127.0.0.10 and up. Linux answers on all of
 * 127.0.0.0/8, and each source address has its own ephemeral port range (about 28 000 ports
 * here), so spreading connections keeps tens of thousands of them (and the TIME_WAIT sockets
 * a previous run left) clear of port exhaustion.
 */
export function sourceAddresses(first: number, count: number): string[] {
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(`127.0.0.${10 + ((first + i) % 240)}`);
  return addresses;
}
