export default function StocktakesPage() { return null; }
