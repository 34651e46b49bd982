/**
 * What a terminal remembers: people, cards and faces, linked by employeeNo (a face's FPID is the
 * employeeNo). Maps keep insertion order, which is the order searches page through.
 */

export type JsonObject = Record<string, unknown>;

/** A person as last written (Record/SetUp replace, Modify merges), employeeNo included. */
export type SimUser = JsonObject & { employeeNo: string };

export interface SimCard {
  cardNo: string;
  employeeNo: string;
  cardType: string;
}

export interface SimFace {
  FPID: string;
  FDID: string;
  faceLibType: string;
  bytes: Buffer;
}

export interface TerminalCapacity {
  users: number;
  cards: number;
  faces: number;
  cardsPerUser: number;
}

export const DEFAULT_CAPACITY: TerminalCapacity = { users: 3000, cards: 3000, faces: 3000, cardsPerUser: 5 };

export class TerminalStore {
  readonly users = new Map<string, SimUser>();
  readonly cards = new Map<string, SimCard>();
  readonly faces = new Map<string, SimFace>();

  constructor(readonly capacity: TerminalCapacity) {}

  cardsOf(employeeNo: string): SimCard[] {
    return [...this.cards.values()].filter((card) => card.employeeNo === employeeNo);
  }

  /** Removes the person with their cards and face (as the device does). False when absent. */
  removeUser(employeeNo: string): boolean {
    if (!this.users.delete(employeeNo)) return false;
    for (const card of this.cardsOf(employeeNo)) this.cards.delete(card.cardNo);
    this.faces.delete(employeeNo);
    return true;
  }

  wipe(): void {
    this.users.clear();
    this.cards.clear();
    this.faces.clear();
  }

  /** A search row: the stored person plus the read-only counters devices add. */
  userRow(user: SimUser): JsonObject {
    return { ...user, numOfCard: this.cardsOf(user.employeeNo).length, numOfFace: this.faces.has(user.employeeNo) ? 1 : 0, numOfFP: 0 };
  }
}
