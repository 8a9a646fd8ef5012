export default function StocktakePage() { return null; }
