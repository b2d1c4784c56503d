import { quote } from "../../provider/schema/quote";

describe("quote", () => {
  it("shows a short value whole, in double quotes", () => {
    expect(quote("10.0.0.0/33")).toBe('"10.0.0.0/33"');
    expect(quote("")).toBe('""');
    expect(quote("x".repeat(40))).toBe(`"${"x".repeat(40)}"`);
  });

  it("cuts a longer value after 40 characters, with an ellipsis", () => {
    expect(quote("x".repeat(41))).toBe(`"${"x".repeat(40)}…"`);
    expect(quote("y".repeat(100_000))).toBe(`"${"y".repeat(40)}…"`);
  });

  it("escapes quotes, backslashes and control characters, so a message stays one line", () => {
    expect(quote('say "hi"\nthere\\')).toBe('"say \\"hi\\"\\nthere\\\\"');
  });

  it("counts characters, not UTF-16 units, and never splits one", () => {
    expect(quote("🔥".repeat(40))).toBe(`"${"🔥".repeat(40)}"`);
    expect(quote("🔥".repeat(41))).toBe(`"${"🔥".repeat(40)}…"`);
  });
});
