import type { ByteBudget, InflightBudget } from './read-body.js';

export interface BodySlotLimits {
  /** Bodies received or written at once by the process (INGEST_MAX_CONCURRENT_BODIES). */
  maxBodies: number;
  /** Of those, at most this many per client address; 0 = no per-address cap. */
  maxBodiesPerAddress: number;
  /** Body bytes one client address may hold in memory at once; 0 = no per-address cap. */
  maxBytesPerAddress: number;
}

interface AddressUsage {
  bodies: number;
  bytes: number;
}

/** A request's body slot: its byte budget (the address's share of the process budget) and its release. */
export interface BodySlot extends ByteBudget {
  close(): void;
}

/**
 * Body slots, shared fairly between client addresses: a few hosts holding many slow bodies
 * open (a slowloris on the body) fill their own share, never the whole process, so every other
 * device still gets its events in. The address is the proxy-aware client address, so devices
 * behind a trusted proxy are told apart by X-Forwarded-For.
 */
export class BodySlots {
  private open = 0;
  private readonly usage = new Map<string, AddressUsage>();

  constructor(
    private readonly limits: BodySlotLimits,
    private readonly budget: InflightBudget,
  ) {}

  /** Bodies being received or written right now. */
  get inFlight(): number {
    return this.open;
  }

  /** A slot for a body from `address`, or why there is none: the process is full, or this address has its share. */
  acquire(address: string): BodySlot | 'overloaded' | 'address_share' {
    if (this.open >= this.limits.maxBodies) return 'overloaded';
    let usage = this.usage.get(address);
    if (usage === undefined) {
      usage = { bodies: 0, bytes: 0 };
      this.usage.set(address, usage);
    } else if (this.limits.maxBodiesPerAddress > 0 && usage.bodies >= this.limits.maxBodiesPerAddress) {
      return 'address_share';
    }
    usage.bodies++;
    this.open++;
    return new AddressSlot(this, address, usage, this.budget, this.limits.maxBytesPerAddress);
  }

  /** @internal by AddressSlot */
  closed(address: string, usage: AddressUsage): void {
    this.open--;
    if (--usage.bodies <= 0 && usage.bytes <= 0) this.usage.delete(address);
  }
}

/** One body's slot: bytes count against its address's share and the process budget. */
class AddressSlot implements BodySlot {
  private done = false;

  constructor(
    private readonly slots: BodySlots,
    private readonly address: string,
    private readonly usage: AddressUsage,
    private readonly budget: InflightBudget,
    private readonly maxBytesPerAddress: number,
  ) {}

  tryReserve(bytes: number): boolean {
    if (this.maxBytesPerAddress > 0 && this.usage.bytes + bytes > this.maxBytesPerAddress) return false;
    if (!this.budget.tryReserve(bytes)) return false;
    this.usage.bytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.budget.release(bytes);
    this.usage.bytes = Math.max(0, this.usage.bytes - bytes);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.slots.closed(this.address, this.usage);
  }
}
